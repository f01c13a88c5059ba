"""The figures of the statistics pages and of ``GET /api/v1/statistics``.

Every figure is one aggregate query (GROUP BY in the database, never a loop over rows); the
figures are cached in Django's default cache (the database cache, or Redis when
KHUTWA_REDIS_URL is set) for KHUTWA_STATISTICS_CACHE_SECONDS:

- ``statistics:figures:v1``: the published figures before suppression (the registrar sees them);
- ``statistics:public:v1``: the same after suppression (the public page and the API);
- ``statistics:registrar:v1``: the registrar's operational figures;
- ``statistics:tamkeen:v1``: Tamkeen's figures per programme.

``khutwa scheduler`` refreshes them every few minutes (``statistics_refresh``), before they
expire. Each entry holds (due time, figures) and is kept a day past its due time: when it is due,
one request recomputes it (holding ``<key>:lock``, taken with cache.add) and the others serve
the previous figures meanwhile.

The period is the last twelve calendar months, this month included (Asia/Bahrain).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from khutwa.approvals.models import Review, ReviewStatus
from khutwa.catalogue.calendar import WorkCalendar
from khutwa.catalogue.models import Activity, ApprovingBody, Governorate, LicenceTier
from khutwa.catalogue.selectors import work_calendar
from khutwa.documents.models import Document, DocumentType
from khutwa.licensing.models import Application, ApplicationKind, ApplicationStatus, Licence, LicenceStatus
from khutwa.statistics.expressions import LocalDate
from khutwa.statistics.suppression import suppress
from khutwa.statistics.tables import Column, Number, Row, Table, money, with_totals
from khutwa.support.models import ApplicationStatus as SupportStatus
from khutwa.support.models import Claim, ClaimStatus, Programme, SupportApplication

FIGURES_KEY = "statistics:figures:v2"
PUBLIC_KEY = "statistics:public:v2"
REGISTRAR_KEY = "statistics:registrar:v2"
TAMKEEN_KEY = "statistics:tamkeen:v2"
MONTHS = 12

#: What each table shows (its heading, and the chart's title).
TITLES: dict[str, Promise] = {
    "applications_by_month": _("Applications received by month and status"),
    "applications_by_activity": _("Applications received by activity"),
    "applications_by_governorate": _("Applications received by governorate"),
    "licences_by_tier": _("Licences in force by tier"),
    "working_days_by_body": _("Working days from submission to licence, by approving body"),
    "reviews_within_sla": _("Reviews decided within their service level, by approving body"),
    "documents_by_month": _("Official documents issued by month and type"),
    "support_by_programme": _("Tamkeen support approved and paid by programme"),
    "backlog_by_body": _("Open and overdue reviews by approving body"),
    "waiting_by_stage": _("Applications waiting, by stage"),
    "programme_budgets": _("Support by programme: applications, claims and budget used"),
}

#: Received applications: every status after the draft.
RECEIVED_STATUSES = [s for s in ApplicationStatus if s != ApplicationStatus.DRAFT]
WAITING_STATUSES = [
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.SCREENING,
    ApplicationStatus.IN_REVIEW,
    ApplicationStatus.APPROVED,
]
DECIDED_REVIEW_STATUSES = [
    ReviewStatus.APPROVED,
    ReviewStatus.APPROVED_WITH_CONDITIONS,
    ReviewStatus.REJECTED,
]
#: Support applications whose entitlement was approved (and possibly since claimed and paid).
SUPPORT_APPROVED = [
    SupportStatus.APPROVED,
    SupportStatus.CLAIMED,
    SupportStatus.VERIFIED,
    SupportStatus.PAID,
    SupportStatus.CLOSED,
]
SUPPORT_PAID = [SupportStatus.PAID, SupportStatus.CLOSED]
SUPPORT_RESERVING = [SupportStatus.APPROVED, SupportStatus.CLAIMED, SupportStatus.VERIFIED]


@dataclass(frozen=True)
class Figures:
    tables: tuple[Table, ...]
    period_from: dt.date
    period_to: dt.date
    computed_at: dt.datetime

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def both_languages(label: Promise | str) -> tuple[str, str]:
    with translation.override("ar"):
        ar = str(label)
    with translation.override("en"):
        en = str(label)
    return ar, en


def _column(key: str, label: Promise | str, kind: Any = "count", **extra: Any) -> Column:
    ar, en = both_languages(label)
    return Column(key=key, ar=ar, en=en, kind=kind, **extra)


def _first_month(today: dt.date) -> dt.date:
    month_index = today.year * 12 + today.month - 1 - (MONTHS - 1)
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def _months(first: dt.date) -> list[dt.date]:
    index = first.year * 12 + first.month - 1
    return [dt.date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(MONTHS)]


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _month_table(
    key: str, columns: list[Column], counts: dict[tuple[dt.date, str], int], months: list[dt.date]
) -> Table:
    """Months × categories, with a total column and a totals row."""
    rows = []
    for month in months:
        cells = [counts.get((month, c.key), 0) for c in columns]
        rows.append(Row(key=month.strftime("%Y-%m"), month=month, cells=(*cells, sum(cells))))
    total = _column("total", _("Total"), is_total=True)
    return with_totals(Table(key=key, columns=(*columns, total), rows=tuple(rows)))


# --- the published figures -------------------------------------------------------------------


def _month_of(field: str, months: list[dt.date]) -> Case:
    """The index of the (Bahrain) month a timestamp falls in, by comparisons with the months'
    boundaries: no per-row time-zone conversion (which SQLite does in Python, row by row)."""
    after = months[-1].replace(day=28) + dt.timedelta(days=4)
    ends = [*months[1:], after.replace(day=1)]
    return Case(
        *[When(**{f"{field}__lt": _start(end)}, then=Value(i)) for i, end in enumerate(ends)],
        default=Value(len(months)),
        output_field=IntegerField(),
    )


def applications_by_month(first: dt.date) -> Table:
    months = _months(first)
    grouped = (
        Application.objects.filter(submitted_at__gte=_start(first))
        .exclude(status=ApplicationStatus.DRAFT)
        .values("status", month=_month_of("submitted_at", months))
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(months[g["month"]], g["status"]): g["n"] for g in grouped if g["month"] < len(months)}
    columns = [_column(s.value, s.label) for s in RECEIVED_STATUSES]
    return _month_table("applications_by_month", columns, counts, months)


def _named_counts(
    key: str, entities: Iterable[Any], counts: dict[int, int], label: Promise, *, totals: bool
) -> Table:
    rows = tuple(
        Row(key=e.code, ar=e.name_ar, en=e.name_en, cells=(counts.get(e.pk, 0),))
        for e in entities
        if counts.get(e.pk, 0) or getattr(e, "is_active", True)
    )
    table = Table(key=key, columns=(_column("count", label),), rows=rows)
    return with_totals(table) if totals else table


def applications_by_activity(first: dt.date) -> Table:
    """An application with several activities counts once for each: no total (it would count
    applications twice)."""
    through = Application.activities.through
    grouped = (
        through.objects.filter(application__submitted_at__gte=_start(first))
        .exclude(application__status=ApplicationStatus.DRAFT)
        .values("activity_id")
        .annotate(n=Count("application_id"))
        .order_by()
    )
    counts = {g["activity_id"]: g["n"] for g in grouped}
    activities = Activity.objects.order_by("sort_order", "code")
    return _named_counts("applications_by_activity", activities, counts, _("Applications"), totals=False)


def applications_by_governorate(first: dt.date) -> Table:
    grouped = (
        Application.objects.filter(submitted_at__gte=_start(first))
        .exclude(status=ApplicationStatus.DRAFT)
        .values("governorate_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {g["governorate_id"]: g["n"] for g in grouped}
    governorates = Governorate.objects.order_by("sort_order", "code")
    return _named_counts("applications_by_governorate", governorates, counts, _("Applications"), totals=True)


def licences_by_tier(today: dt.date) -> Table:
    grouped = (
        Licence.objects.filter(status=LicenceStatus.ACTIVE, valid_until__gte=today)
        .values("tier_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {g["tier_id"]: g["n"] for g in grouped}
    tiers = LicenceTier.objects.order_by("sort_order", "code")
    return _named_counts("licences_by_tier", tiers, counts, _("Licences in force"), totals=True)


def percentile(distribution: dict[int, int], share: float) -> int | None:
    """Nearest rank: the smallest value with at least ⌈share × n⌉ cases at or below it."""
    n = sum(distribution.values())
    if not n:
        return None
    rank = max(1, math.ceil(share * n))
    seen = 0
    for value in sorted(distribution):
        seen += distribution[value]
        if seen >= rank:
            return value
    return max(distribution)  # pragma: no cover - the loop always reaches rank


def working_day_index(calendar: WorkCalendar, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """{day: working days in (first, day]} for every day from first to last: the working days
    between two days of the range are then the difference of their entries."""
    index: dict[dt.date, int] = {}
    count = 0
    day = first
    while day <= last:
        if day > first and calendar.is_working_day(day):
            count += 1
        index[day] = count
        day += dt.timedelta(days=1)
    return index


def _durations(
    grouped: Iterable[dict[str, Any]], calendar: WorkCalendar, group: str | None
) -> dict[Any, dict[int, int]]:
    """{group: {working days: licences}} from rows of (group, submitted day, licence day, n):
    two look-ups per row in an index of working days built once for the days seen."""
    rows = [
        (g[group] if group else None, _as_date(g["submitted"]), _as_date(g["licensed"]), g["n"])
        for g in grouped
    ]
    out: dict[Any, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    if not rows:
        return out
    days = [d for _key, submitted, licensed, _n in rows for d in (submitted, licensed)]
    index = working_day_index(calendar, min(days), max(days))
    for key, submitted, licensed, n in rows:
        out[key][max(0, index[licensed] - index[submitted])] += n
    return out


def working_days_by_body(first: dt.date, calendar: WorkCalendar) -> Table:
    """New licences issued in the period: working days (the SLA clocks' calendar) from the
    application's submission to the licence, for the licences each body reviewed, and all."""
    licensed = {
        "kind": ApplicationKind.NEW,
        "status": ApplicationStatus.LICENCE_ISSUED,
        "submitted_at__isnull": False,
        "licence__issued_at__gte": _start(first),
    }
    every = _durations(
        Application.objects.filter(**licensed)
        .values(submitted=LocalDate("submitted_at"), licensed=LocalDate("licence__issued_at"))
        .annotate(n=Count("id"))
        .order_by(),
        calendar,
        None,
    )
    by_body = _durations(
        Review.objects.filter(**{f"application__{k}": v for k, v in licensed.items()})
        .values(
            "body_id",
            submitted=LocalDate("application__submitted_at"),
            licensed=LocalDate("application__licence__issued_at"),
        )
        .annotate(n=Count("application_id", distinct=True))
        .order_by(),
        calendar,
        "body_id",
    )
    columns = (
        _column("licences", _("Licences issued")),
        _column("median", _("Median (working days)"), "days", follows=(0,)),
        _column("p90", _("90th percentile (working days)"), "days", follows=(0,)),
    )

    def cells(distribution: dict[int, int]) -> tuple[Number, ...]:
        return (sum(distribution.values()), percentile(distribution, 0.5), percentile(distribution, 0.9))

    rows = [
        Row(key=b.code, ar=b.name_ar, en=b.name_en, cells=cells(by_body.get(b.pk, {})))
        for b in ApprovingBody.objects.order_by("sort_order", "code")
        if b.is_active or b.pk in by_body
    ]
    all_ar, all_en = both_languages(_("All approving bodies"))
    rows.append(Row(key="all", ar=all_ar, en=all_en, cells=cells(every.get(None, {}))))
    return Table(key="working_days_by_body", columns=columns, rows=tuple(rows))


def reviews_within_sla(first: dt.date) -> Table:
    """Reviews decided in the period, and those decided on or before their due date (the SLA
    clock's target, with the days the clock was paused for information added)."""
    grouped = (
        Review.objects.filter(decided_at__gte=_start(first), status__in=DECIDED_REVIEW_STATUSES)
        .annotate(decided_day=LocalDate("decided_at"))
        .values("body_id")
        .annotate(
            decided=Count("id"),
            within=Count("id", filter=Q(decided_day__lte=F("due_date"))),
        )
        .order_by()
    )
    counts = {g["body_id"]: (g["decided"], g["within"]) for g in grouped}
    columns = (
        _column("decided", _("Reviews decided")),
        _column("within", _("Decided within the service level")),
        _column("share", _("Share within the service level (%)"), "percent", follows=(0, 1)),
    )
    rows = []
    for body in ApprovingBody.objects.order_by("sort_order", "code"):
        decided, within = counts.get(body.pk, (0, 0))
        if not (decided or body.is_active):
            continue
        share = (Decimal(within * 100) / Decimal(decided)).quantize(Decimal("1")) if decided else None
        rows.append(Row(key=body.code, ar=body.name_ar, en=body.name_en, cells=(decided, within, share)))
    return Table(key="reviews_within_sla", columns=columns, rows=tuple(rows))


def documents_by_month(first: dt.date) -> Table:
    grouped = (
        Document.objects.filter(issue_date__gte=first)
        .values("type", month=TruncMonth("issue_date"))
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(_as_date(g["month"]), g["type"]): g["n"] for g in grouped}
    columns = [_column(t.value, t.label) for t in DocumentType]
    return _month_table("documents_by_month", columns, counts, _months(first))


def support_by_programme() -> Table:
    grouped = (
        SupportApplication.objects.values("programme_id")
        .annotate(
            approved=Count("id", filter=Q(status__in=SUPPORT_APPROVED)),
            approved_amount=Sum("entitlement", filter=Q(status__in=SUPPORT_APPROVED)),
            paid=Count("id", filter=Q(status__in=SUPPORT_PAID)),
            paid_amount=Sum("entitlement", filter=Q(status__in=SUPPORT_PAID)),
        )
        .order_by()
    )
    by_programme = {g["programme_id"]: g for g in grouped}
    columns = (
        _column("approved", _("Applications approved")),
        _column("approved_amount", _("Approved (BHD)"), "money", follows=(0,)),
        _column("paid", _("Applications paid")),
        _column("paid_amount", _("Paid (BHD)"), "money", follows=(2,)),
    )
    rows = []
    for programme in Programme.objects.order_by("code"):
        g = by_programme.get(programme.pk, {})
        rows.append(
            Row(
                key=programme.code,
                ar=programme.name_ar,
                en=programme.name_en,
                cells=(
                    g.get("approved", 0),
                    money(g.get("approved_amount")),
                    g.get("paid", 0),
                    money(g.get("paid_amount")),
                ),
            )
        )
    return with_totals(Table(key="support_by_programme", columns=columns, rows=tuple(rows)))


def figures_compute(today: dt.date | None = None) -> Figures:
    """The published figures, exact (before suppression)."""
    today = today or timezone.localdate()
    first = _first_month(today)
    tables = (
        applications_by_month(first),
        applications_by_activity(first),
        applications_by_governorate(first),
        licences_by_tier(today),
        working_days_by_body(first, work_calendar()),
        reviews_within_sla(first),
        documents_by_month(first),
        support_by_programme(),
    )
    return Figures(tables=tables, period_from=first, period_to=today, computed_at=timezone.now())


def figures_publishable(figures: Figures) -> Figures:
    return Figures(
        tables=tuple(suppress(t) for t in figures.tables),
        period_from=figures.period_from,
        period_to=figures.period_to,
        computed_at=figures.computed_at,
    )


# --- the staff's operational figures ---------------------------------------------------------


def backlog_by_body(today: dt.date) -> Table:
    grouped = (
        Review.objects.filter(in_queue=1)
        .values("body_id")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(status=ReviewStatus.PENDING, due_date__lt=today)),
        )
        .order_by()
    )
    counts = {g["body_id"]: (g["open"], g["overdue"]) for g in grouped}
    columns = (_column("open", _("Open reviews")), _column("overdue", _("Overdue reviews")))
    rows = tuple(
        Row(key=b.code, ar=b.name_ar, en=b.name_en, cells=counts.get(b.pk, (0, 0)))
        for b in ApprovingBody.objects.order_by("sort_order", "code")
        if b.is_active or b.pk in counts
    )
    return with_totals(Table(key="backlog_by_body", columns=columns, rows=rows))


def waiting_by_stage() -> Table:
    grouped = (
        Application.objects.filter(status__in=WAITING_STATUSES)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {g["status"]: g["n"] for g in grouped}
    rows = []
    for status in WAITING_STATUSES:
        ar, en = both_languages(status.label)
        rows.append(Row(key=status.value, ar=ar, en=en, cells=(counts.get(status.value, 0),)))
    table = Table(key="waiting_by_stage", columns=(_column("count", _("Applications")),), rows=tuple(rows))
    return with_totals(table)


def programme_budgets() -> Table:
    applications = {
        g["programme_id"]: g
        for g in SupportApplication.objects.values("programme_id")
        .annotate(
            applications=Count("id"),
            approved=Count("id", filter=Q(status__in=SUPPORT_APPROVED)),
        )
        .order_by()
    }
    claims = {
        g["application__programme_id"]: g
        for g in Claim.objects.values("application__programme_id")
        .annotate(
            claims=Count("id"),
            claims_paid=Count("id", filter=Q(status=ClaimStatus.PAID)),
        )
        .order_by()
    }
    columns = (
        _column("applications", _("Applications")),
        _column("approved", _("Approved")),
        _column("claims", _("Claims")),
        _column("claims_paid", _("Claims paid")),
        _column("budget", _("Budget (BHD)"), "money"),
        _column("reserved", _("Reserved (BHD)"), "money"),
        _column("paid", _("Paid (BHD)"), "money"),
        _column("used", _("Budget used (%)"), "percent"),
    )
    rows = []
    for p in Programme.objects.order_by("code"):
        a = applications.get(p.pk, {})
        c = claims.get(p.pk, {})
        used = ((p.reserved + p.paid) * 100 / p.budget).quantize(Decimal("0.1")) if p.budget else None
        rows.append(
            Row(
                key=p.code,
                ar=p.name_ar,
                en=p.name_en,
                cells=(
                    a.get("applications", 0),
                    a.get("approved", 0),
                    c.get("claims", 0),
                    c.get("claims_paid", 0),
                    money(p.budget),
                    money(p.reserved),
                    money(p.paid),
                    used,
                ),
            )
        )
    return with_totals(Table(key="programme_budgets", columns=columns, rows=tuple(rows)))


# --- cached entry points ---------------------------------------------------------------------

_T = TypeVar("_T")

#: How long figures are kept after they are due for a refresh: served as a stand-in while
#: one request computes new ones.
STALE_SECONDS = 24 * 3600
#: How long a computation may hold its key's lock (a crashed one frees it after this).
LOCK_SECONDS = 120
#: How long a request at a miss with no figures at all waits for the one computing them.
WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.1


#: The stamp of the entry each key last read or stored in this thread: the pages key their
#: rendered fragments by it (a new computation, a new fragment).
_stamps = threading.local()


def _stamp(key: str, stamp: str | None) -> None:
    if not hasattr(_stamps, "by_key"):
        _stamps.by_key = {}
    _stamps.by_key[key] = stamp


def statistics_stamp(*keys: str) -> tuple[str | None, ...]:
    """The stamps of the entries of `keys` that this thread last read or stored: equal stamps,
    the same figures (what the pages cache their rendered fragments by)."""
    by_key = getattr(_stamps, "by_key", {})
    return tuple(by_key.get(key) for key in keys)


def _store(key: str, value: Any) -> None:
    """One cache entry per key: (the time it is due for a refresh, the value, a stamp that
    names this computation), kept a day."""
    fresh_until = time.time() + settings.KHUTWA_STATISTICS_CACHE_SECONDS
    stamp = uuid.uuid4().hex
    cache.set(
        key, (fresh_until, value, stamp), timeout=settings.KHUTWA_STATISTICS_CACHE_SECONDS + STALE_SECONDS
    )
    _stamp(key, stamp)


def _read(key: str) -> tuple[bool, Any]:
    """(fresh, value) of the entry; value None when there is none."""
    entry = cache.get(key)
    if entry is None:
        _stamp(key, None)
        return False, None
    fresh_until, value, stamp = entry
    _stamp(key, stamp)
    return time.time() < fresh_until, value


def _cached(key: str, compute: Callable[[], _T]) -> _T:
    """The cached value; when it is due (or absent), one request computes it (holding
    ``<key>:lock``, taken with cache.add) while the others serve the previous value, or, when
    there is none yet, wait for the computation (at most WAIT_SECONDS)."""
    fresh, value = _read(key)
    if fresh:
        return value
    lock = f"{key}:lock"
    if cache.add(lock, 1, timeout=LOCK_SECONDS):
        try:
            value = compute()
            _store(key, value)
        finally:
            cache.delete(lock)
        return value
    if value is not None:
        return value
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        fresh, value = _read(key)
        if value is not None:
            return value
    return compute()  # the other computation is taking too long (or died): do it here


def _figures_unlocked() -> Figures:
    """The cached figures, or computed and stored (under the caller's lock)."""
    fresh, figures = _read(FIGURES_KEY)
    if not fresh:
        figures = figures_compute()
        _store(FIGURES_KEY, figures)
    return figures


def statistics_figures() -> Figures:
    """The published figures before suppression (cached)."""
    return _cached(FIGURES_KEY, figures_compute)


def statistics_public() -> Figures:
    """What the public page and the API show: the figures with small cells suppressed (cached)."""
    return _cached(PUBLIC_KEY, lambda: figures_publishable(_figures_unlocked()))


def _registrar_compute() -> tuple[Table, ...]:
    return (backlog_by_body(timezone.localdate()), waiting_by_stage())


def _tamkeen_compute() -> tuple[Table, ...]:
    return (support_by_programme(), programme_budgets())


def statistics_registrar() -> tuple[Table, ...]:
    """The registrar's operational figures (cached): backlog and waiting applications."""
    return _cached(REGISTRAR_KEY, _registrar_compute)


def statistics_tamkeen() -> tuple[Table, ...]:
    """Tamkeen's figures (cached): support by programme, and budgets."""
    return _cached(TAMKEEN_KEY, _tamkeen_compute)


def statistics_refresh() -> int:
    """Compute every figure afresh and store it (the scheduler's job, every few minutes, before
    the cached figures expire): visitors read them from the cache and never compute them.
    Returns the number of entries stored."""
    figures = figures_compute()
    _store(FIGURES_KEY, figures)
    _store(PUBLIC_KEY, figures_publishable(figures))
    _store(REGISTRAR_KEY, _registrar_compute())
    _store(TAMKEEN_KEY, _tamkeen_compute())
    return 4


def statistics_forget() -> None:
    """Empty the cache of the figures (the next read computes them again)."""
    cache.delete_many([FIGURES_KEY, PUBLIC_KEY, REGISTRAR_KEY, TAMKEEN_KEY])
