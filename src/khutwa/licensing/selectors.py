"""Reads of the licensing domain, with the object-level access rules."""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from khutwa.accounts.roles import Role
from khutwa.approvals.models import Review
from khutwa.arabic import normalize
from khutwa.catalogue.models import Activity, ApprovingBody
from khutwa.errors import NotFound
from khutwa.keyset import count_capped_once
from khutwa.licensing.models import (
    CHECK_CODE_LENGTH,
    OPEN_STATUSES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Attachment,
    Licence,
    LicenceStatus,
)


def application_queryset() -> QuerySet[Application]:
    return Application.objects.select_related("tier", "governorate", "licence").prefetch_related(
        Prefetch("activities", queryset=Activity.objects.order_by("sort_order")),
        Prefetch(
            "reviews",
            queryset=Review.objects.select_related("body").order_by("body__sort_order", "id"),
        ),
    )


def application_visible_to(user: Any) -> Q:
    """Who sees an application: its applicant, the registrar, and a reviewer whose body reviews it."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if user.has_role(Role.REGISTRAR):
        return Q()
    condition = Q(applicant_id=user.pk)
    if user.has_role(Role.REVIEWER, Role.INSPECTOR) and user.body_id:
        condition |= Q(reviews__body_id=user.body_id)
    return condition


def get_application_for(user: Any, *, pk: int | None = None, public_id: Any = None) -> Application:
    lookup = {"pk": pk} if pk is not None else {"public_id": public_id}
    application = (
        application_queryset().filter(application_visible_to(user)).filter(**lookup).distinct().first()
    )
    if application is None:
        raise NotFound("Not found.")
    return application


def applications_of(user: Any) -> QuerySet[Application]:
    return application_queryset().filter(applicant_id=user.pk).order_by("-created_at")


def open_application_of(user: Any) -> Application | None:
    """The user's open application for a new licence (theirs, or filed for their CPR), if any:
    a person has one at a time, so the form says so before anything is filled."""
    condition = Q(applicant_id=user.pk)
    if getattr(user, "cpr", ""):
        condition |= Q(cpr=user.cpr)
    return (
        Application.objects.filter(kind=ApplicationKind.NEW, status__in=OPEN_STATUSES)
        .filter(condition)
        .order_by("-created_at")
        .first()
    )


REFERENCE_RE = re.compile(r"^[A-Za-z]{2,4}-[0-9]{4}-[0-9]{1,6}$")
#: The prefix of application references (``APP-2026-000123``); a number of the same shape with
#: another prefix is a licence's (``KH-2026-000123``).
APPLICATION_PREFIX = "APP-"
#: The lists that go deep, in a total order (the id breaks ties) that an index serves.
PIPELINE_ORDER = ("-created_at", "-id")
LICENCES_ORDER = ("-issued_at", "-id")
#: Counts on the staff pages stop here ("more than 1000"): each is one short index range.
COUNT_CAP = 1000
#: The SQLite FTS5 table (trigram tokenizer) over Application.name_search, kept in sync by
#: triggers (migration 0006); on PostgreSQL a pg_trgm GIN index serves LIKE (below).
NAME_FTS_TABLE = "licensing_application_name_fts"
_NAME_MATCH = "SELECT rowid FROM licensing_application_name_fts WHERE licensing_application_name_fts MATCH %s"
_NAME_MATCH_COUNT = (
    "SELECT COUNT(*) FROM (SELECT rowid FROM licensing_application_name_fts "
    "WHERE licensing_application_name_fts MATCH %s LIMIT %s)"
)
# The same set, tested row by row while the list's own index is read in order ("+" keeps SQLite
# from driving the query by the id): for a common name, the first page is found in a few rows.
_NAME_MEMBER = f"+licensing_application.id IN ({_NAME_MATCH})"
#: Above this many matches a name is common: read the list in order and test each row;
#: at or below, fetch the matches and sort them.
COMMON_NAME_MATCHES = 2000


#: PostgreSQL, a query of more than one word: a second pg_trgm index is over the names with
#: their spaces replaced by a tatweel (licensing 0007), which no normalised name or query holds.
#: pg_trgm takes each word alone, so over the names as they are "زينب ال" found every row with
#: "زينب" and a word beginning "ال" (2,000 at 100,000 applications) and rechecked each; joined,
#: the trigrams cross the space and the index finds the rows that hold the phrase. The query
#: must name the index's expression exactly.
NAME_JOINER = "\u0640"
_NAME_JOINED_LIKE = f"replace(\"licensing_application\".\"name_search\", ' ', '{NAME_JOINER}') LIKE %s"


def _name_condition(norm: str) -> Q:
    """Applications whose normalised names contain `norm`, through the trigram index (three
    letters or more; a shorter query reads the column). On PostgreSQL the planner weighs the
    pg_trgm index against the list's order by its statistics; on SQLite the FTS5 table says how
    common the name is, and the plan follows."""
    if " " in norm and connection.vendor == "postgresql":
        pattern = "%" + connection.ops.prep_for_like_query(norm.replace(" ", NAME_JOINER)) + "%"
        return Q(RawSQL(_NAME_JOINED_LIKE, [pattern], output_field=BooleanField()))  # noqa: S611 - constant SQL
    if len(norm) < 3 or connection.vendor != "sqlite":
        return Q(name_search__contains=norm)
    phrase = '"' + norm.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(_NAME_MATCH_COUNT, [phrase, COMMON_NAME_MATCHES + 1])
        (matches,) = cursor.fetchone()
    if matches > COMMON_NAME_MATCHES:
        return Q(RawSQL(_NAME_MEMBER, [phrase], output_field=BooleanField()))  # noqa: S611 - constant SQL
    return Q(pk__in=RawSQL(_NAME_MATCH, [phrase]))  # noqa: S611 - a constant, the query a parameter


def search_filter(query: str) -> Q:
    """Reference, licence number, CPR or name, Arabic-normalised (diacritics, tatweel, alef, ta
    marbuta, ya).

    The query's shape picks the lookup: a reference, a licence number or a CPR is one index
    lookup; a name goes through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL)."""
    query = query.strip()
    if not query:
        return Q()
    if REFERENCE_RE.match(query):
        number = query.upper()
        if number.startswith(APPLICATION_PREFIX):
            return Q(reference=number)
        return Q(licence_id__in=Licence.objects.filter(number=number).values("pk"))
    norm = normalize(query)
    if norm.isdigit():
        return Q(cpr=norm) if len(norm) == 9 else Q(cpr__startswith=norm)
    return _name_condition(norm)


def pipeline_counts(cap: int | None = None) -> dict[str, int]:
    """Applications per status, each counted up to cap + 1 through the (status, created_at)
    index: a handful of short index ranges instead of a GROUP BY over every application."""
    return count_capped_once(
        "pipeline_counts",
        Application,
        lambda: {status: Application.objects.filter(status=status) for status in ApplicationStatus.values},
        COUNT_CAP if cap is None else cap,
    )


def pipeline(*, status: str = "", query: str = "", governorate: str = "") -> QuerySet[Application]:
    qs = Application.objects.select_related("tier", "governorate").order_by(*PIPELINE_ORDER)
    if status:
        qs = qs.filter(status=status)
    if governorate:
        qs = qs.filter(governorate__code=governorate)
    if query:
        qs = qs.filter(search_filter(query))
    return qs


def _licence_by_number(number: str) -> Licence | None:
    return (
        Licence.objects.select_related("tier")
        .prefetch_related(Prefetch("activities", queryset=Activity.objects.order_by("sort_order")))
        .filter(number=number.strip().upper())
        .first()
    )


def licence_public(ref: str) -> Licence:
    """The public check: the licence number with its check code (`Licence.public_ref`, printed on
    the certificate and in its QR code). A bare number, an unknown one and a wrong code get the
    same answer, so sequential numbers cannot be walked through."""
    number, _dash, code = ref.strip().upper().rpartition("-")
    licence = _licence_by_number(number) if number and len(code) == CHECK_CODE_LENGTH else None
    if licence is None or not hmac.compare_digest(licence.check_code, code):
        raise NotFound("Not found.")
    return licence


def get_licence_for(user: Any, number: str) -> Licence:
    """A licence by its number, for its holder and the registrar (who know it anyway)."""
    licence = _licence_by_number(number)
    if licence is not None and (user.has_role(Role.REGISTRAR) or licence.holder_id == user.pk):
        return licence
    raise NotFound("Not found.")


def licences_of(user: Any) -> QuerySet[Licence]:
    return Licence.objects.filter(holder_id=user.pk).select_related("tier").order_by("-issued_at")


def licences_list(*, status: str = "", query: str = "") -> QuerySet[Licence]:
    qs = Licence.objects.select_related("tier", "governorate").order_by(*LICENCES_ORDER)
    if status:
        qs = qs.filter(status=status)
    if query:
        q = query.strip()
        qs = qs.filter(Q(number__iexact=q.upper()) | Q(cpr=q) | Q(trade_name__icontains=q))
    return qs


def active_licence_of(user: Any) -> Licence | None:
    return Licence.objects.filter(holder_id=user.pk, status=LicenceStatus.ACTIVE).first()


def get_attachment_for(user: Any, public_id: Any) -> Attachment:
    attachment = Attachment.objects.select_related("application").filter(public_id=public_id).first()
    if attachment is None:
        raise NotFound("Not found.")
    get_application_for(user, pk=attachment.application_id)
    return attachment


def track(reference: str, cpr_last4: str) -> Application | None:
    """Public tracking: the reference and the CPR's last four digits must both match."""
    reference = reference.strip().upper()
    cpr_last4 = cpr_last4.strip()
    if len(cpr_last4) != 4 or not cpr_last4.isdigit() or not reference:
        return None
    return (
        Application.objects.filter(reference=reference, cpr__endswith=cpr_last4)
        .prefetch_related("transitions")
        .first()
    )


def bodies() -> QuerySet[ApprovingBody]:
    return ApprovingBody.objects.filter(is_active=True)
