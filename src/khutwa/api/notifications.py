"""The caller's notification preferences over HTTP: `GET/PUT /api/v1/me/notifications`."""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import StrictBool

from khutwa.api.auth import AUTH
from khutwa.api.errors import invalid_fields
from khutwa.api.schemas import Problem
from khutwa.notifications.selectors import preference_for
from khutwa.notifications.services import preference_update

router = Router(tags=["notifications"])


class PreferencesOut(Schema):
    email: bool
    sms: bool
    language: Literal["ar", "en"]
    portal: bool = True
    has_email: bool
    has_mobile: bool


class PreferencesIn(Schema):
    email: StrictBool
    sms: StrictBool
    language: str


def _out(request: HttpRequest) -> PreferencesOut:
    user = request.user
    current = preference_for(user)
    return PreferencesOut(
        email=current.by_email,
        sms=current.by_sms,
        language=current.language,  # type: ignore[arg-type]
        has_email=bool(user.email),  # type: ignore[union-attr]
        has_mobile=current.has_mobile,
    )


@router.get(
    "",
    response={200: PreferencesOut, 401: Problem},
    auth=AUTH,
    summary="How the caller is told of what concerns them (the portal's notices are always kept)",
)
def preferences_get(request: HttpRequest) -> PreferencesOut:
    return _out(request)


@router.put(
    "",
    response={200: PreferencesOut, 401: Problem, 422: Problem},
    auth=AUTH,
    summary="Choose the channels (e-mail, SMS) and the language (ar, en) of notifications",
    description="SMS needs a Bahraini mobile number on the account; a refusal changes nothing.",
)
def preferences_put(request: HttpRequest, payload: PreferencesIn) -> PreferencesOut:
    try:
        preference_update(
            actor=request.user, by_email=payload.email, by_sms=payload.sms, language=payload.language
        )
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    return _out(request)
