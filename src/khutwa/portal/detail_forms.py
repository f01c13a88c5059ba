"""The small forms on detail pages (a review's decision, a licence's VAT number, the IBAN, a claim …):
one way to call their service and to show what went wrong.

Each form posts to its own URL. When the service accepts, the browser goes back to the page with a
message (POST, redirect, GET). When it does not, the page is rendered again at once, never
redirected: status 400 with the values typed kept, each error beside its field (``{% field %}``)
and in the error summary at the top of that form (``{% error_summary %}``, focused by khutwa.js),
in the page's language, nothing written. A refusal that is not about one field ("this review is
no longer pending") is the summary's one sentence, with the refusal's status (409, or 403).
A request sent by htmx gets the form's fragment alone (the element it swaps), and on success an
``HX-Redirect`` to the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from khutwa.errors import NotFound, Refused


def _field_of(form: forms.Form, key: str) -> str | None:
    """The form's field a service's error key names (``documents[1]`` is the ``documents``
    field's), or None when the form has no such field."""
    name = re.split(r"[\[.]", key, maxsplit=1)[0]
    return name if name and name in form.fields else None


def add_service_error(form: forms.Form, exc: Refused | ValidationError) -> int:
    """Put a service's refusal (or its input errors) on the form: beside the field it names when
    the form has that field, else as the form's own message. Gives the status to answer with."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            for key, texts in exc.message_dict.items():
                form.add_error(_field_of(form, key), texts)
        else:
            form.add_error(None, exc.messages)
        return 400
    field = _field_of(form, exc.field)
    if field is not None:
        form.add_error(field, str(exc.message))
        return 400
    form.add_error(None, str(exc.message))
    return exc.status if exc.status in (403, 409) else 400


def submit(
    request: HttpRequest,
    form: forms.Form,
    action: Callable[[dict[str, Any]], Any],
    *,
    success: str | Callable[[Any], str],
    back: str | Callable[[Any], str],
    template: str,
    context: Callable[[forms.Form], Mapping[str, Any]],
    fragment: str = "",
) -> HttpResponse:
    """Validate ``form``, call ``action(cleaned_data)`` (one service call) and answer.

    - success: ``success`` as a message, then the way ``back`` (each a string, or made from the
      service's result);
    - bad input or a refusal: ``template`` (the detail page) rendered with ``context(form)``, the
      failed form in it, with status 400 (409/403 for a refusal about no field);
    - an htmx request gets ``fragment`` (the form's own template) with the same context.
    An object that is not the caller's is a 404, as everywhere."""
    status = 400
    if form.is_valid():
        try:
            result = action(form.cleaned_data)
        except NotFound:
            raise Http404 from None
        except (Refused, ValidationError) as exc:
            status = add_service_error(form, exc)
        else:
            messages.success(request, success(result) if callable(success) else success)
            url = back(result) if callable(back) else back
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    page_context = context(form)
    if fragment and request.headers.get("HX-Request"):
        return render(request, fragment, page_context, status=status)
    return render(request, template, page_context, status=status)
