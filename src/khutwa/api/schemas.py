from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from khutwa.api.errors import ApiProblem
from khutwa.inputs import date_in_range
from khutwa.keyset import BadCursor, cursor_encode, keyset_page

T = TypeVar("T")
M = TypeVar("M", bound=Model)


def _day(value: dt.date) -> dt.date:
    if not date_in_range(value):
        raise PydanticCustomError("date_range", "a date from 1900-01-01 to 9999-12-31")
    return value


#: A date a request may carry: 1900-01-01 to 9999-12-31 (else 422 naming the field).
Day = Annotated[dt.date, AfterValidator(_day)]


def enforced(**schema: Any) -> dict[str, Any]:
    """What the service behind an operation enforces (with its own field messages, in the
    request's language), stated in the OpenAPI document as JSON Schema (`json_schema_extra`):
    clients and the fuzzer then send what the operation takes. pydantic does not check these
    (the service's message for each is more precise than a pattern's); `tests/api/
    test_schema_constraints.py` checks that each one refuses what the service refuses."""
    return schema


#: Patterns of what the services take (each value is stripped first where the service strips it).
AMOUNT = r"^\s*[0-9]+(\.[0-9]{1,3})?\s*$"
PUBLIC_ID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
CPR = r"^\s*[0-9]{9}\s*$"
CR_NUMBER = r"^\s*[0-9]{1,10}(-[0-9]{1,4})?\s*$"
VAT_NUMBER = r"^\s*([0-9]{15})?\s*$"
NOT_BLANK = r"\S"


class Out(BaseModel):
    """An output the platform's own code fills field by field (keyword arguments, never a model
    instance): pydantic's validation alone. ninja's `Schema` wraps what it validates in a
    `DjangoGetter` to read Django objects' attributes, six times the cost per object: most of
    the time of an API page of 50 documents (2.9 against 0.5 ms). The OpenAPI document is the
    same either way (`tests/api/test_openapi_outputs.py`)."""


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


class CursorPageIn(PageIn):
    """`?limit=&offset=` as every list, and `?cursor=` for lists that go deep (keyset pages)."""

    cursor: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]*$",
        description=(
            "Keyset pages: empty for the first page, then the `next` of the page before. With a "
            "cursor, `offset` is ignored and `count` is the number of items on this page (no total "
            "is counted); without one, `offset` and the exact `count` work as before."
        ),
    )


class PageOut(ListOut[T], Generic[T]):
    next: str | None = Field(
        None, description="The cursor of the following page (`?cursor=`), or null on the last page."
    )


def cursor_page_of(
    rows: QuerySet[M], page: CursorPageIn, out: Callable[[M], Any], *, order: Sequence[str]
) -> dict[str, Any]:
    """`page_of` for a list that goes deep: with `?cursor=` one index range after the cursor in
    `order` (which ends with the primary key; `khutwa.keyset`), no OFFSET and no COUNT; without,
    the offset page and the exact total as before. Either way `next` is the following page's
    cursor. A cursor the list did not make is a 422 naming `cursor`."""
    rows = rows.order_by(*order)
    names = [name.lstrip("-") for name in order]
    if page.cursor is None:
        chosen = list(rows[page.offset : page.offset + page.limit])
        total = rows.count()
        more = page.offset + len(chosen) < total
        last = cursor_encode([getattr(chosen[-1], n) for n in names]) if chosen and more else None
        return {"items": [out(row) for row in chosen], "count": total, "next": last}
    try:
        found = keyset_page(rows, order, after=page.cursor, size=page.limit)
    except BadCursor:
        message = _("This page link is not valid: start again from the first page.")
        raise ApiProblem(422, message, [{"field": "cursor", "message": message}]) from None
    if page.cursor and found.is_first:
        # Nothing is left after the cursor (its rows left the list meanwhile): the end, not the
        # first page again, so that a client following `next` always stops.
        return {"items": [], "count": 0, "next": None}
    return {"items": [out(row) for row in found], "count": len(found), "next": found.next_cursor}


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
