from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Field, Schema
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from khutwa.inputs import date_in_range

T = TypeVar("T")
M = TypeVar("M", bound=Model)


def _day(value: dt.date) -> dt.date:
    if not date_in_range(value):
        raise PydanticCustomError("date_range", "a date from 1900-01-01 to 9999-12-31")
    return value


#: A date a request may carry: 1900-01-01 to 9999-12-31 (else 422 naming the field).
Day = Annotated[dt.date, AfterValidator(_day)]


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class ListOut(Schema, Generic[T]):
    items: list[T]
    count: int


class PageIn(Schema):
    """`?limit=&offset=` of every list (API.md): `count` is the total, `items` the page."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


def page_of(rows: QuerySet[M], page: PageIn, out: Callable[[M], Any]) -> dict[str, Any]:
    """One page of an ordered queryset as a list response: the page's rows and the total count."""
    items = [out(row) for row in rows[page.offset : page.offset + page.limit]]
    return {"items": items, "count": rows.count()}


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=256)
    otp: str | None = Field(None, max_length=16, description="Staff: the code of their authenticator app")


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: dt.datetime


class MeOut(Schema):
    username: str
    roles: list[str]
    licence: str | None = None
    body: str | None = None


class ActivityOut(Schema):
    code: str
    name_ar: str
    name_en: str
    category: str
    bodies: list[str]
    is_food: bool
    requires_inspection: bool


class BodyOut(Schema):
    code: str
    name_ar: str
    name_en: str
    sla_working_days: int


class TierOut(Schema):
    code: str
    name_ar: str
    name_en: str
    max_activities: int
    turnover_ceiling: str
    validity_months: int
