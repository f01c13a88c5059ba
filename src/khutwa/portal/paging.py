"""A page of a list that goes deep, from the request's `?after=` or `?before=` cursor
(`khutwa.keyset`): the staff queues and the holder's customer book."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from khutwa.keyset import BadCursor, KeysetPage, keyset_page

PAGE_SIZE = 25


def keyset_of(
    request: HttpRequest, queryset: Any, order: tuple[str, ...], size: int = PAGE_SIZE
) -> KeysetPage:
    """?after=<cursor> or ?before=<cursor> (an old ?page= link shows the first page). A cursor
    that does not decode shows the first page, saying so."""
    after = request.GET.get("after", "")[:500]
    before = request.GET.get("before", "")[:500]
    try:
        return keyset_page(queryset, order, after=after, before=before, size=size)
    except BadCursor:
        messages.warning(request, _("This page link is not valid: start again from the first page."))
        return keyset_page(queryset, order, size=size)
