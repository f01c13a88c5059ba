"""Reads of documents with their access rules: a holder sees their own licence's documents,
a customer sees the documents addressed to them (an individual by CPR, a business by its
commercial registration once a Tamkeen officer has checked the account's link to it), nobody
else anything."""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import operator
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, router
from django.db.models import BigIntegerField, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.documents.models import Allocation, Customer, CustomerKind, Document, DocumentType
from khutwa.errors import NotFound
from khutwa.keyset import row_beyond


def visible_to(user: Any) -> Q:
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    condition = Q(licence__holder_id=user.pk)
    if user.cpr:
        condition |= Q(customer__kind=CustomerKind.INDIVIDUAL, customer__cpr=user.cpr)
    if cr := user.verified_cr:
        condition |= Q(customer__kind=CustomerKind.BUSINESS, customer__cr_number=cr)
    return condition


def addressed_to(user: Any, customer: Customer) -> bool:
    """Whether a document to this customer (of any holder's book) is addressed to the user."""
    if not getattr(user, "is_authenticated", False):
        return False
    if customer.kind == CustomerKind.INDIVIDUAL:
        return bool(user.cpr) and customer.cpr == user.cpr
    return bool(customer.cr_number) and customer.cr_number == user.verified_cr


STATUSES = ("unpaid", "paid", "credited", "awaiting", "accepted", "declined", "expired")
INVOICE_STATUSES = ("unpaid", "paid", "credited")


def with_status(qs: QuerySet[Document], status: str, today: dt.date) -> QuerySet[Document]:
    """Filter by what happened to a document since: invoices unpaid/paid/credited (their stored
    balance, `documents.balances`), quotations awaiting an answer, accepted, declined or expired."""
    if status in INVOICE_STATUSES:
        return qs.filter(type=DocumentType.INVOICE, balance__status=status)
    qs = qs.filter(type=DocumentType.QUOTATION)
    if status == "awaiting":
        return qs.filter(response__isnull=True, valid_until__gte=today)
    if status == "expired":
        return qs.filter(response__isnull=True, valid_until__lt=today)
    return qs.filter(response__answer=status)


def _fils(field: str) -> Cast:
    """An amount column (BHD, 3 places) as integer fils: SQLite keeps decimals as REAL, whose
    sums are not exact (0.043 + 0.005 < 0.048), so amounts are compared in fils as the stored
    balances are (`balances.fils`)."""
    return Cast(Round(F(field) * Value(1000), output_field=DecimalField()), output_field=BigIntegerField())


def _sum_per_invoice(rows: QuerySet[Any], field: str) -> Coalesce:
    """The sum of `field` in fils over the rows that name the outer invoice (0 when none do)."""
    return Coalesce(
        Subquery(
            rows.filter(invoice_id=OuterRef("pk"))
            .order_by()
            .values("invoice_id")
            .annotate(s=Sum(_fils(field)))
            .values("s")
        ),
        Value(0),
        output_field=BigIntegerField(),
    )


def with_status_computed(qs: QuerySet[Document], status: str) -> QuerySet[Document]:
    """An invoice status computed from the credit notes and receipts themselves (per invoice
    row, two subqueries, in fils): what the stored balance must agree with (tests,
    verification)."""
    credited = _sum_per_invoice(Document.objects.all(), "total")
    allocated = _sum_per_invoice(Allocation.objects.all(), "amount")
    qs = qs.filter(type=DocumentType.INVOICE).annotate(
        s_total=_fils("total"), s_credited=credited, s_allocated=allocated
    )
    # Fully credited: "credited" (not "paid", though nothing is left to pay); paid: settled
    # by receipts, with or without a partial credit; unpaid: anything still outstanding.
    fully_credited = Q(s_credited__gte=F("s_total"))
    if status == "credited":
        return qs.filter(fully_credited)
    settled = Q(s_allocated__gt=0, s_allocated__gte=F("s_total") - F("s_credited")) & ~fully_credited
    if status == "paid":
        return qs.filter(settled)
    return qs.exclude(settled).exclude(fully_credited)


def _filtered(
    qs: QuerySet[Document],
    *,
    type_: str = "",
    customer: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    query: str = "",
    status: str = "",
    today: dt.date | None = None,
) -> QuerySet[Document]:
    if type_:
        qs = qs.filter(type=type_)
    if customer:
        qs = qs.filter(customer_id=customer)
    # The issue date is the issue time's local date: bounding the time too lets the list walk
    # its (licence, issued_at, id) index from the period's end instead of filtering every row.
    if start:
        qs = qs.filter(issue_date__gte=start)
        if since := _local_midnight(start):
            qs = qs.filter(issued_at__gte=since)
    if end:
        qs = qs.filter(issue_date__lte=end)
        if until := _local_midnight(end, days=1):
            qs = qs.filter(issued_at__lt=until)
    if status in STATUSES:
        qs = with_status(qs, status, today or timezone.localdate())
    if query:
        qs = qs.filter(
            Q(number__icontains=query.strip())
            | Q(customer__name_ar__icontains=query.strip())
            | Q(customer__name_en__icontains=query.strip())
        )
    return qs


def _local_midnight(day: dt.date, days: int = 0) -> dt.datetime | None:
    """The start of `day` (plus `days`) in local time; None outside the years kept (1900-9998)."""
    if not 1900 <= day.year <= 9998:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=days), dt.time.min))


def documents_for(
    user: Any,
    *,
    type_: str = "",
    customer: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    query: str = "",
    status: str = "",
    today: dt.date | None = None,
) -> QuerySet[Document]:
    """The user's documents, newest first, filtered; read through the ids of the user's licences
    and customer entries (`document_sources`, one query before), each served by its own index.
    `visible_to`'s joins instead made both engines scan every document: the backward walk of
    the issue-time index (a small holder's 5 documents at the end of a million) or a whole scan
    to count."""
    qs: QuerySet[Document] = Document.objects.filter(document_sources(user).visible()).select_related(
        "customer", "licence"
    )
    qs = _filtered(
        qs, type_=type_, customer=customer, start=start, end=end, query=query, status=status, today=today
    )
    return qs.order_by("-issued_at", "-id")


def document_slice(user: Any, *, offset: int, limit: int, **filters: Any) -> tuple[list[Document], int]:
    """The API's offset pages (`?offset=&limit=`, API.md): the page's documents, newest first,
    and how many the filters keep in all. The count reads the sources' indexes; the page is
    found first as (issue time, id) keys, the first `offset + limit` of each source in its
    index's order, merged, and only its `limit` documents are then read whole: the sort of
    every matching row, and the reading of rows before the offset, are left out."""
    sources = document_sources(user)
    conditions = sources.conditions()
    if not conditions:
        return [], 0
    total = _filtered(Document.objects.filter(sources.visible()), **filters).count()
    wanted = offset + limit
    streams = [
        _filtered(Document.objects.filter(condition), **filters)
        .order_by("-issued_at", "-id")
        .values_list("issued_at", "id")[:wanted]
        for condition in conditions
    ]
    keys: list[int] = []
    for _at, pk in heapq.merge(*streams, reverse=True):
        if not keys or keys[-1] != pk:  # a document of both sources comes twice, side by side
            keys.append(pk)
    chosen = keys[offset:wanted]
    if not chosen:
        return [], total
    rows = Document.objects.filter(pk__in=chosen).select_related("customer", "licence")
    return list(rows.order_by("-issued_at", "-id")), total


# Keyset pagination of a user's documents ------------------------------------------------------

PAGE_SIZE = 25


class BadCursor(ValueError):
    """A page cursor that this list did not make (the message names it, in the user's language)."""


@dataclass(frozen=True)
class Position:
    """A place in the list's order (newest first): the issue time and the id of a document."""

    issued_at: dt.datetime
    id: int

    def encode(self) -> str:
        moment = self.issued_at.astimezone(dt.UTC)
        micros = (moment - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> Position:
        head, dot, tail = text.partition(".")
        if not (dot and head.isdigit() and tail.isdigit() and len(head) <= 18 and len(tail) <= 18):
            raise BadCursor(_("This page link is not valid: start again from the first page."))
        pk = int(tail)
        try:
            moment = _EPOCH + dt.timedelta(microseconds=int(head))
        except OverflowError:
            raise BadCursor(_("This page link is not valid: start again from the first page.")) from None
        if not 0 < pk < 2**63:
            raise BadCursor(_("This page link is not valid: start again from the first page."))
        return cls(moment, pk)

    @classmethod
    def of(cls, document: Document) -> Position:
        return cls(document.issued_at, document.pk)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class DocumentPage:
    """One page of a list in keyset order; `next`/`previous` are the cursors of the pages
    around it (None at either end). There is no total: counting a holder's whole list on
    every request is what made deep lists slow. `partial`: a text search stopped at its scan
    bound (`SCAN_LIMIT`) with fewer matches than a page; `next` continues the search."""

    items: list[Document]
    next: str | None
    previous: str | None
    partial: bool = False

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


#: The columns a list shows (not the payload: parsing each row's JSON was most of a page).
LIST_COLUMNS = (
    "public_id",
    "licence_id",
    "type",
    "number",
    "issued_at",
    "issue_date",
    "customer_id",
    "currency",
    "subtotal",
    "vat",
    "total",
    "counter",
    "hash",
    "previous_hash",
    "kid",
    "tamkeen_application_number",
    "valid_until",
    "due_date",
    "customer__name_ar",
    "customer__name_en",
)

#: A text search (`q=`) reads at most this many rows of each source per request, in list order,
#: and keeps those that match; when fewer than a page match, the page says so and its `next`
#: cursor continues after the last row read. No index serves a substring of a name in both
#: engines, so the bound is what keeps a rare word in a big list from reading the whole list.
SCAN_LIMIT = 1000


@dataclass(frozen=True)
class Sources:
    """Who may see what, as ids each served by one index: the user's licences (their
    documents) and the user's entries in every holder's book (the documents addressed to them);
    `has_active_licence`: one of the licences is active (the list then shows the holder's tools)."""

    licences: list[int]
    customers: list[int]
    has_active_licence: bool = False

    def conditions(self) -> list[Q]:
        """One condition per source that has any ids, each served by its own index."""
        return [Q(**{f"{field}_id__in": ids}) for field, ids in self.as_columns()]

    def visible(self) -> Q:
        """The documents of these sources (none if there are none)."""
        conditions = self.conditions()
        return functools.reduce(operator.or_, conditions) if conditions else Q(pk__in=[])

    def as_columns(self) -> list[tuple[str, list[int]]]:
        """(column, ids) per source that has any: read apart and merged, so that each walks its
        own index in list order."""
        return [
            (field, ids) for field, ids in (("licence", self.licences), ("customer", self.customers)) if ids
        ]


def document_sources(user: Any) -> Sources:
    """The user's `Sources` in one statement: the licences and the customer entries, a UNION
    ALL. Written in SQL because the ORM built and compiled that union in more time (about
    1 ms) than the database took to answer it, on every page of the list and of the API."""
    if not getattr(user, "is_authenticated", False):
        return Sources([], [])
    from khutwa.licensing.models import Licence, LicenceStatus

    database = connections[router.db_for_read(Licence)]
    q = database.ops.quote_name
    licence = {f.name: q(f.column) for f in Licence._meta.concrete_fields}
    entry = {f.name: q(f.column) for f in Customer._meta.concrete_fields}
    sql = (
        f"SELECT 1, {licence['id']}, {licence['status']} FROM {q(Licence._meta.db_table)} "  # noqa: S608 - our tables
        f"WHERE {licence['holder']} = %s"
    )
    params: list[Any] = [user.pk]
    addressed = []
    if user.cpr:
        addressed.append(f"({entry['kind']} = %s AND {entry['cpr']} = %s)")
        params += [CustomerKind.INDIVIDUAL, user.cpr]
    if cr := user.verified_cr:
        addressed.append(f"({entry['kind']} = %s AND {entry['cr_number']} = %s)")
        params += [CustomerKind.BUSINESS, cr]
    if addressed:
        sql += (
            f" UNION ALL SELECT 2, {entry['id']}, '' FROM {q(Customer._meta.db_table)} "  # noqa: S608
            f"WHERE {' OR '.join(addressed)}"
        )
    licences: list[int] = []
    entries: list[int] = []
    active = False
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        for source, pk, status in cursor.fetchall():
            if source == 1:
                licences.append(pk)
                active = active or status == LicenceStatus.ACTIVE
            else:
                entries.append(pk)
    return Sources(licences, entries, has_active_licence=active)


def _text(query: str) -> Q:
    text = query.strip()
    return (
        Q(number__icontains=text)
        | Q(customer__name_ar__icontains=text)
        | Q(customer__name_en__icontains=text)
    )


def document_page(
    user: Any,
    *,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    type_: str = "",
    customer: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    query: str = "",
    status: str = "",
    today: dt.date | None = None,
    columns: tuple[str, ...] | None = LIST_COLUMNS,
    sources: Sources | None = None,
) -> DocumentPage:
    """A page of the user's documents, newest first, after (or before) a cursor: one indexed
    range read per source of visibility, `size + 1` rows each, no OFFSET and no COUNT. An
    invoice status reads the balances' `(licence, status, issued_at, invoice)` index; a text
    search reads at most `SCAN_LIMIT` rows per source. `columns`: the columns read (None: whole
    rows, payload included). `sources`: the user's, if the caller has them (`document_sources`).
    Raises BadCursor for a cursor this list did not make."""
    position = Position.decode(before or after) if (before or after) else None
    backwards = bool(before)
    sign = 1 if backwards else -1
    items: dict[int, Document] = {}
    bound: tuple[int, int] | None = None  # how far every source was searched, in scan order
    if sources is None:
        sources = document_sources(user)
    for field, ids in sources.as_columns():
        # An invoice status of the user's licences: the balances' index, in list order.
        keyed = field == "licence" and status in INVOICE_STATUSES
        at, pk = ("balance__issued_at", "balance__invoice_id") if keyed else ("issued_at", "id")
        source = Q(balance__licence_id__in=ids) if keyed else Q(**{f"{field}_id__in": ids})
        qs = _filtered(
            Document.objects.filter(source),
            type_=type_,
            customer=customer,
            start=start,
            end=end,
            status=status,
            today=today,
        )
        if position is not None:
            t, i = position.issued_at, position.id
            if connection.vendor == "postgresql":
                # (issued_at, id) beyond the cursor as one row comparison: the start of the index
                # range, where the OR below only filtered (a deep page read every row before it).
                qs = qs.filter(row_beyond((at, pk), (t, i), forward=backwards))
            elif backwards:
                qs = qs.filter(Q(**{f"{at}__gt": t}) | Q(**{at: t, f"{pk}__gt": i}))
            else:
                qs = qs.filter(Q(**{f"{at}__lt": t}) | Q(**{at: t, f"{pk}__lt": i}))
        order = (at, pk) if backwards else (f"-{at}", f"-{pk}")
        qs = qs.order_by(*order)
        if query:
            # The window: the next SCAN_LIMIT rows of this source; the matches among them.
            window = qs.values("pk")[:SCAN_LIMIT]
            rows: QuerySet[Document] = Document.objects.filter(pk__in=window).filter(_text(query))
            rows = rows.order_by(*(("issued_at", "id") if backwards else ("-issued_at", "-id")))
        else:
            rows = qs
        rows = rows.select_related("customer")
        if columns is not None:
            rows = rows.only(*columns)
        found = list(rows[: size + 1])
        for document in found:
            items[document.pk] = document
        if query and len(found) <= size:
            edge = list(qs.values_list(at, pk)[SCAN_LIMIT - 1 : SCAN_LIMIT + 1])
            if len(edge) > 1:  # rows beyond the window: this source is searched down to its end
                key = (sign * _micros(edge[0][0]), sign * edge[0][1])
                bound = key if bound is None else min(bound, key)
    keys = {d.pk: (sign * _stamp(d), sign * d.pk) for d in items.values()}
    candidates = [d for d in items.values() if bound is None or keys[d.pk] <= bound]
    merged = heapq.nsmallest(size + 1, candidates, key=lambda d: keys[d.pk])
    more = len(merged) > size
    page = merged[:size]
    partial = not more and bound is not None
    cursor = position.encode() if position is not None else None
    if partial:
        assert bound is not None  # noqa: S101 - partial says so
        reached = Position(_EPOCH + dt.timedelta(microseconds=sign * bound[0]), sign * bound[1]).encode()
        if backwards:
            page.reverse()
            oldest = Position.of(page[-1]).encode() if page else None
            return DocumentPage(page, next=oldest or cursor, previous=reached, partial=True)
        newest = Position.of(page[0]).encode() if page else None
        return DocumentPage(page, next=reached, previous=newest or cursor, partial=True)
    if backwards:
        if not page:  # nothing newer than the cursor: the first page
            return document_page(
                user,
                size=size,
                columns=columns,
                type_=type_,
                customer=customer,
                start=start,
                end=end,
                query=query,
                status=status,
                today=today,
                sources=sources,
            )
        page.reverse()
    first = Position.of(page[0]).encode() if page else None
    last = Position.of(page[-1]).encode() if page else None
    if backwards:
        return DocumentPage(page, next=last, previous=first if more else None)
    return DocumentPage(page, next=last if more else None, previous=first if position is not None else None)


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _stamp(document: Document) -> int:
    return _micros(document.issued_at)


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound("Not found.") from None


def get_document_for(user: Any, public_id: Any) -> Document:
    public_id = _uuid(public_id)
    try:
        document = (
            Document.objects.filter(visible_to(user))
            .select_related("customer", "licence", "licence__tier")
            .filter(public_id=public_id)
            .first()
        )
    except (ValueError, TypeError):
        document = None
    if document is None:
        raise NotFound("Not found.")
    return document


def customer_for(user: Any, pk: Any) -> Customer:
    """An entry of the user's own customer book (NotFound for anyone else's)."""
    valid = str(pk).isdigit() and 0 < int(pk) < 2**63
    customer = customers_of(user).filter(pk=pk).first() if valid else None
    if customer is None:
        raise NotFound("Not found.")
    return customer


#: A holder's customer book in name order (the index customer_book: holder, then these).
CUSTOMERS_ORDER = ("name_en", "name_ar", "id")


def customers_of(user: Any) -> QuerySet[Customer]:
    return Customer.objects.filter(owner_id=user.pk, is_tamkeen=False).order_by(*CUSTOMERS_ORDER)


def customers_matching(customers: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    """Entries of a customer book found by a name (in either language, any part) or by their
    exact CPR or CR number."""
    text = query.strip()
    return customers.filter(
        Q(name_ar__icontains=text) | Q(name_en__icontains=text) | Q(cpr=text) | Q(cr_number=text)
    )


def document_public(public_id: Any) -> Document:
    try:
        # get(), not first(): a unique lookup needs no ORDER BY (this is the hot path of /verify).
        return Document.objects.select_related("licence").get(public_id=_uuid(public_id))
    except Document.DoesNotExist:
        raise NotFound("Not found.") from None
