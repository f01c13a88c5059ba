"""The API's offset pages of a user's documents (`?limit=&offset=`, API.md) and the other lists
of `selectors.documents_for`: the same documents in the same order as the access rule
(`visible_to`) gives, read through the indexes of the user's licences and customer entries.
Through `visible_to`'s joins both engines read every document of the platform to count a
holder's list, or walked the whole issue-time index for a holder whose documents are old."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.documents import selectors, services
from khutwa.documents.models import Document, DocumentType
from khutwa.support import services as support_services
from tests.api.test_licensing_api import auth
from tests.documents.conftest import yesterday
from tests.documents.test_document_list_keyset import issue
from tests.documents.test_document_list_plans import plan_of
from tests.licensing.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(licence_since_yesterday):
    """The documents below are issued hours ago: the licence is valid from the day before."""
    return licence_since_yesterday


@pytest.fixture
def both(holder, customer):
    """The holder's own documents (one addressed to themselves: in both sources), an invoice
    and a quotation another holder addressed to them, and that holder's other documents."""
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    own = [issue(holder, customer, base + dt.timedelta(minutes=k)) for k in range(4)]
    own += [issue(holder, customer, base + dt.timedelta(minutes=10)) for _ in range(3)]  # ties
    myself = services.customer_create(
        actor=holder, kind="individual", cpr=holder.cpr, name_ar="أنا", name_en="Me", address="Manama"
    )
    own.append(issue(holder, myself, base + dt.timedelta(minutes=5)))
    world = World()
    world.licensed(activities=["home-meals"], tier="standard", today=yesterday())
    theirs = services.customer_create(
        actor=world.applicant, kind="individual", cpr=holder.cpr, name_ar="م", name_en="M", address="Riffa"
    )
    stranger = services.customer_create(
        actor=world.applicant, kind="individual", cpr="870404004", name_ar="س", name_en="S", address="Riffa"
    )
    addressed = [
        issue(world.applicant, theirs, base + dt.timedelta(minutes=7)),
        issue(world.applicant, theirs, base + dt.timedelta(minutes=10), DocumentType.QUOTATION),
    ]
    issue(world.applicant, stranger, base + dt.timedelta(minutes=8))
    return own, addressed


def expected(user, **filters):
    """The access rule itself, newest first."""
    qs = Document.objects.filter(selectors.visible_to(user))
    if filters.get("type_"):
        qs = qs.filter(type=filters["type_"])
    if filters.get("customer"):
        qs = qs.filter(customer_id=filters["customer"])
    return [d.pk for d in qs.order_by("-issued_at", "-id")]


@pytest.mark.parametrize(
    "filters", [{}, {"type_": DocumentType.INVOICE}, {"type_": DocumentType.QUOTATION}, {"customer": "own"}]
)
def test_every_slice_is_the_access_rules_order_and_count(holder, customer, both, filters):
    if filters.get("customer"):
        filters = {"customer": customer.pk}
    order = expected(holder, **filters)
    assert len(order) == (len(set(order))) and len(order) >= 1
    for limit in (1, 2, 3, 50):
        for offset in range(len(order) + 2):
            items, total = selectors.document_slice(holder, offset=offset, limit=limit, **filters)
            assert [d.pk for d in items] == order[offset : offset + limit], (offset, limit)
            assert total == len(order)


def test_a_document_in_both_sources_comes_once(holder, both):
    own, addressed = both
    items, total = selectors.document_slice(holder, offset=0, limit=50)
    assert total == len(own) + len(addressed) == len({d.pk for d in items})


def test_a_user_without_licence_or_entry_gets_nothing(both):
    nobody = World().applicant
    assert selectors.document_slice(nobody, offset=0, limit=10) == ([], 0)
    assert list(selectors.documents_for(nobody)) == []


def test_documents_for_keeps_the_access_rule(holder, both):
    assert [d.pk for d in selectors.documents_for(holder)] == expected(holder)
    quotations = selectors.documents_for(holder, type_=DocumentType.QUOTATION)
    assert [d.pk for d in quotations] == expected(holder, type_=DocumentType.QUOTATION)


def _statements(call):
    with CaptureQueriesContext(connection) as captured:
        call()
    return [q["sql"] for q in captured.captured_queries if "documents_document" in q["sql"]]


def test_the_count_and_the_page_read_the_sources_indexes_not_every_document(holder, both):
    """Each statement of an offset page, of `documents_for` and of a support application's
    quotation looked up by its number reads documents only by an index whose leading column is
    the licence, the customer entry or the id: on both engines, the access rule's joins read
    every document, or every quotation of the platform through the type's index."""
    statements = _statements(lambda: selectors.document_slice(holder, offset=2, limit=3))
    statements += _statements(lambda: list(selectors.documents_for(holder)[:5]))
    assert len(statements) == 5  # count, the two sources' keys, the page's rows; documents_for
    _own, addressed = both
    quotation = addressed[1]
    lookups = _statements(lambda: support_services.quotation_by_number(holder, quotation.number))
    assert len(lookups) == 2  # in the user's licences, then in the licences that addressed them
    if connection.vendor == "sqlite":
        # PostgreSQL's planner, on this test's dozen rows, reads the (licence, number) index by
        # its second column, a whole-index read it prices at nothing here. With the statistics
        # of 20,000 documents it reads both lookups by (licence_id, number) (issue 14's note).
        statements += lookups
    for sql in statements:
        reads = document_reads(sql)
        assert reads, (sql, plan_of(sql))
        for read in reads:
            assert read.startswith(("licence_id", "customer_id", "id ", "rowid")), (read, sql, plan_of(sql))


def document_reads(sql: str) -> list[str]:
    """How the statement finds rows of documents_document: the condition of each index read
    (its leading column first); "scan" for a read of every row or every index entry."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            steps = [row[3] for row in cursor.fetchall() if " documents_document " in row[3] + " "]
            return [
                step.split(" (", 1)[1].rstrip(")") if step.startswith("SEARCH") and " (" in step else "scan"
                for step in steps
            ]
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'documents_document'")
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        lines = [row[0].strip().removeprefix("->").strip() for row in cursor.fetchall()]
    reads = []
    for n, line in enumerate(lines):
        named = line.split(" using ", 1)[1].split()[0] if " using " in line else ""
        if line.startswith("Bitmap Index Scan on "):
            named = line.split(" on ", 1)[1].split()[0]
        if "Seq Scan on documents_document" in line:
            reads.append("scan")
        elif named in indexes:
            following = lines[n + 1] if n + 1 < len(lines) else ""
            if following.startswith("Index Cond: ("):
                reads.append(following.removeprefix("Index Cond: (").lstrip("("))
            else:
                reads.append("scan")
    return reads


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_api_offset_pages_walk_every_document_once_with_the_total(client, holder, both, lang):
    headers = {**auth(holder), "HTTP_ACCEPT_LANGUAGE": lang}
    order = [str(Document.objects.get(pk=pk).public_id) for pk in expected(holder)]
    seen: list[str] = []
    for offset in range(0, len(order) + 3, 3):
        data = client.get(f"/api/v1/documents?limit=3&offset={offset}", **headers).json()
        assert data["count"] == len(order)
        seen += [item["public_id"] for item in data["items"]]
        assert (data["next"] is None) == (offset + 3 >= len(order))
    assert seen == order
    typed = client.get("/api/v1/documents?limit=50&type=quotation", **headers).json()
    assert [i["type"] for i in typed["items"]] == ["quotation"] and typed["count"] == 1
