"""The caller's own e-mail address and mobile number: `GET/PUT /api/v1/me/contact`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema

from khutwa.accounts import services
from khutwa.accounts.forms import clean_email_address
from khutwa.accounts.validators import normalise_bahraini_mobile
from khutwa.api.auth import AUTH
from khutwa.api.errors import invalid_fields
from khutwa.api.schemas import Problem

router = Router(tags=["auth"])


class ContactOut(Schema):
    email: str
    email_confirmed: bool
    phone: str
    phone_confirmed: bool


class ContactIn(Schema):
    password: str
    email: str | None = None
    phone: str | None = None


def _out(user: object) -> ContactOut:
    return ContactOut(
        email=user.email,  # type: ignore[attr-defined]
        email_confirmed=user.email_confirmed_at is not None,  # type: ignore[attr-defined]
        phone=user.phone,  # type: ignore[attr-defined]
        phone_confirmed=user.phone_confirmed_at is not None,  # type: ignore[attr-defined]
    )


@router.get("", response={200: ContactOut, 401: Problem}, auth=AUTH, summary="The caller's e-mail and mobile")
def contact_get(request: HttpRequest) -> ContactOut:
    return _out(request.user)


@router.put(
    "",
    response={200: ContactOut, 401: Problem, 403: Problem, 409: Problem, 422: Problem},
    auth=AUTH,
    summary="Change the caller's e-mail address or mobile number (the current password is asked)",
    description=(
        "What changes is no longer confirmed: a link goes to the new address, a code to the new "
        "number (confirm it with the portal's confirmation page), and the former e-mail address is "
        "told. A wrong password is 403 on `password`; an address another account uses is 409."
    ),
)
def contact_put(request: HttpRequest, payload: ContactIn) -> ContactOut:
    errors: dict[str, list[str]] = {}
    email = phone = None
    if payload.email is not None:
        try:
            email = clean_email_address(_email(payload.email), owner=request.user)
        except ValidationError as exc:
            errors["email"] = exc.messages
    if payload.phone is not None:
        try:
            phone = normalise_bahraini_mobile(payload.phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise invalid_fields(ValidationError(errors))
    services.contact_change(user=request.user, password=payload.password, email=email, phone=phone)  # type: ignore[arg-type]
    request.user.refresh_from_db()  # type: ignore[union-attr]
    return _out(request.user)


def _email(value: str) -> str:
    """The form's EmailField check, for the API."""
    from django import forms

    return forms.EmailField(max_length=254).clean(value)
