"""The holder's document list in keyset pages: stable order with ties, nothing of anyone else's,
previous/next in both languages, bad cursors refused clearly, no OFFSET and no COUNT."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.documents import selectors, services
from khutwa.documents.models import Document, DocumentType
from tests.api.test_licensing_api import auth
from tests.documents.conftest import line, yesterday
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(licence_since_yesterday):
    """The documents below are issued hours ago: the licence is valid from the day before."""
    return licence_since_yesterday


def issue(holder, customer, now, type_=DocumentType.INVOICE):
    data = services.DocumentInput(type=type_, customer=customer.pk, lines=[line()])
    if type_ == DocumentType.QUOTATION:
        data.valid_until = timezone.localdate() + dt.timedelta(days=30)
    return services.document_issue(actor=holder, data=data, now=now).document


@pytest.fixture
def documents(holder, customer):
    """Eleven documents, seven of them issued at the very same second (ties on issued_at)."""
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    same = base + dt.timedelta(minutes=30)
    made = [issue(holder, customer, base + dt.timedelta(minutes=k)) for k in range(3)]
    made += [issue(holder, customer, same) for _ in range(7)]
    made.append(issue(holder, customer, base + dt.timedelta(hours=1), DocumentType.QUOTATION))
    return made


@pytest.fixture
def stranger_documents(db):
    """Another holder's documents, issued to a customer with the same CPR as ours."""
    world = World()
    world.licensed(activities=["home-meals"], tier="standard", today=yesterday())
    other = world.applicant
    theirs = services.customer_create(
        actor=other, kind="individual", cpr="870303003", name_ar="يوسف", name_en="Yousif", address="Riffa"
    )
    now = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2, minutes=30)
    return [issue(other, theirs, now) for _ in range(3)]


def walk(user, size, **filters):
    pages, after = [], ""
    while True:
        page = selectors.document_page(user, after=after, size=size, **filters)
        pages.append(page)
        if page.next is None:
            return pages
        after = page.next


def test_pages_follow_the_list_order_with_ties_and_walk_back(holder, documents, stranger_documents):
    expected = list(Document.objects.filter(licence__holder=holder).order_by("-issued_at", "-id"))
    pages = walk(holder, size=3)
    walked = [d for page in pages for d in page]
    assert [d.pk for d in walked] == [d.pk for d in expected]
    assert len(pages) == 4 and pages[0].previous is None and pages[-1].next is None
    # Back from the last page, each previous page is the page that was there before.
    page = pages[-1]
    for earlier in reversed(pages[:-1]):
        page = selectors.document_page(holder, before=page.previous, size=3)
        assert [d.pk for d in page] == [d.pk for d in earlier]
    assert page.previous is None


def test_another_holders_documents_are_never_listed(holder, documents, stranger_documents):
    listed = {d.pk for page in walk(holder, size=4) for d in page}
    assert listed == {d.pk for d in documents}
    assert not listed & {d.pk for d in stranger_documents}


def test_a_customer_sees_what_every_holder_addressed_to_them(holder, documents, stranger_documents):
    me = applicant(cpr="870303003")
    listed = [d.pk for page in walk(me, size=5) for d in page]
    everything = sorted([*documents, *stranger_documents], key=lambda d: (d.issued_at, d.pk), reverse=True)
    assert listed == [d.pk for d in everything]
    assert [d.pk for page in walk(applicant(), size=5) for d in page] == []


def test_filters_keep_working_in_pages(holder, customer, documents):
    quotations = walk(holder, size=2, type_=DocumentType.QUOTATION)
    assert [d.pk for p in quotations for d in p] == [documents[-1].pk]
    today = timezone.localdate()
    assert len([d for p in walk(holder, size=4, start=today, end=today) for d in p]) == len(
        [d for d in documents if d.issue_date == today]
    )
    assert [d for p in walk(holder, size=4, customer=customer.pk + 999) for d in p] == []


def test_a_page_reads_no_offset_no_count_and_a_bounded_number_of_queries(holder, documents):
    first = selectors.document_page(holder, size=3)
    with CaptureQueriesContext(connection) as captured:
        deep = selectors.document_page(holder, after=first.next, size=3)
        [str(d.customer) for d in deep]  # the list shows each customer: read with the page
    sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert len(captured.captured_queries) <= 3


@pytest.mark.parametrize("cursor", ["x", "12.", ".5", "1.0", "99999999999999999999.1", "-5.3", "1.2.3"])
def test_a_bad_cursor_is_refused_by_the_selector(holder, cursor):
    with pytest.raises(selectors.BadCursor):
        selectors.document_page(holder, after=cursor)


@pytest.mark.parametrize(
    ("lang", "previous", "next_"), [("en", "Previous", "Next"), ("ar", "السابق", "التالي")]
)
def test_the_portal_list_links_previous_and_next(
    client, holder, documents, monkeypatch, lang, previous, next_
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 4)
    order = [d.number for d in Document.objects.filter(licence__holder=holder).order_by("-issued_at", "-id")]
    client.force_login(holder)
    first = client.get(f"/{lang}/documents/").content.decode()
    assert 'rel="next" href="?after=' in first and f">{next_}</a>" in first and 'rel="prev"' not in first
    assert all(n in first for n in order[:4]) and order[4] not in first
    after = first.split('rel="next" href="?after=')[1].split('"')[0]
    second = client.get(f"/{lang}/documents/?after={after}").content.decode()
    assert all(n in second for n in order[4:8]) and order[0] not in second
    assert f">{previous}</a>" in second and 'rel="next"' in second
    before = second.split('rel="prev" href="?before=')[1].split('"')[0]
    back = client.get(f"/{lang}/documents/?before={before}").content.decode()
    assert all(n in back for n in order[:4]) and 'rel="prev"' not in back


@pytest.mark.parametrize(("lang", "warning"), [("en", "This page link is not valid"), ("ar", 'role="alert"')])
def test_a_bad_cursor_in_the_portal_shows_the_first_page_and_says_so(
    client, holder, documents, lang, warning
):
    client.force_login(holder)
    response = client.get(f"/{lang}/documents/?after=not-a-cursor&before=1.x")
    body = response.content.decode()
    assert response.status_code == 200 and documents[-1].number in body and warning in body


def test_the_api_list_keeps_its_fields_and_adds_a_cursor(client, holder, documents, stranger_documents):
    headers = auth(holder)
    legacy = client.get("/api/v1/documents?limit=4", **headers).json()
    assert legacy["count"] == 11 and len(legacy["items"]) == 4 and legacy["next"]
    assert {"public_id", "number", "type", "issued_at", "total", "hash", "verify_url", "qr"} <= set(
        legacy["items"][0]
    )
    seen, cursor = [], ""
    while cursor is not None:
        data = client.get(f"/api/v1/documents?limit=4&cursor={cursor}", **headers).json()
        assert data["count"] == len(data["items"])
        seen += [item["public_id"] for item in data["items"]]
        cursor = data["next"]
    order = Document.objects.filter(licence__holder=holder).order_by("-issued_at", "-id")
    assert seen == [str(d.public_id) for d in order]
    assert [item["public_id"] for item in legacy["items"]] == seen[:4]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_api_refuses_a_bad_cursor_naming_the_field(client, holder, documents, lang):
    response = client.get("/api/v1/documents?cursor=12.x", HTTP_ACCEPT_LANGUAGE=lang, **auth(holder))
    assert response.status_code == 422 and response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"][0]["field"] == "cursor" and body["errors"][0]["message"]


def test_the_portal_list_reads_the_user_and_their_sources_once_per_page(
    client, holder, customer, monkeypatch
):
    """A holder who is also someone else's customer: the session, the user (roles and enterprise
    with it), the licences and customer entries (one UNION), one range read per source, the
    customer filter's options and the header's unread notices; the same deep in the list."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    now = timezone.now().replace(microsecond=0)
    for k in range(5):
        issue(holder, customer, now - dt.timedelta(seconds=10 * k))
    world = World()
    world.licensed(activities=["home-meals"], tier="standard", today=yesterday())
    theirs = services.customer_create(
        actor=world.applicant, kind="individual", cpr=holder.cpr, name_ar="م", name_en="M", address="Riffa"
    )
    addressed = issue(world.applicant, theirs, now - dt.timedelta(seconds=5))
    client.force_login(holder)
    assert addressed.number in client.get("/en/documents/").content.decode()
    cursor = selectors.document_page(holder, size=2).next
    for path in ("/en/documents/", f"/en/documents/?after={cursor}"):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        tables = [q["sql"].split(" FROM ", 1)[-1].split()[0] for q in captured.captured_queries]
        assert len(captured.captured_queries) <= 7, tables
