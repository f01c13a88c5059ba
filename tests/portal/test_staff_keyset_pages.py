"""The staff lists that go deep (reviewer queue, registrar pipeline, overdue, licences) page by
keyset: next and previous links, a total order with ties broken by id, a bad cursor shows the
first page (never a 500), and a cursor never widens what the caller sees."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.approvals.models import Review
from khutwa.approvals.selectors import QUEUE_ORDER, review_queue
from khutwa.keyset import BadCursor, count_capped, cursor_decode, cursor_encode, keyset_page
from khutwa.licensing import selectors
from khutwa.licensing.models import Application
from khutwa.portal import views_staff
from tests.documents.test_document_list_plans import ORDERED_PLAN_OFF
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db

NEXT = re.compile(r'rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'rel="prev" href="([^"]+)"')
ROW = re.compile(r'data-review="(\d+)"')


@pytest.fixture
def world():
    return World()


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views_staff, "PAGE_SIZE", 2)


def _link(pattern: re.Pattern[str], page: str) -> str | None:
    found = pattern.search(page)
    return html.unescape(found.group(1)) if found else None


def _walk(client, url: str, pattern: re.Pattern[str], first: str = "") -> tuple[list[list[int]], str]:
    """The rows of each page, following next (or previous) links from `url` + `first`; and the
    query of the last page read."""
    pages = []
    query = first
    for _ in range(20):
        page = client.get(url + query).content.decode()
        pages.append([int(pk) for pk in ROW.findall(page)])
        following = _link(pattern, page)
        if not following:
            return pages, query
        query = following
    raise AssertionError("the links go round in circles")


def _open_food_reviews(world, n: int) -> list[Review]:
    for _ in range(n):
        world.in_review(user=applicant(), activities=["home-meals"])
    reviews = list(Review.objects.filter(body__code="food-control", status="pending"))
    # Ties: three reviews due the same day, in an order the ids alone decide.
    same_day = timezone.localdate() + dt.timedelta(days=3)
    Review.objects.filter(pk__in=[r.pk for r in reviews[:3]]).update(due_date=same_day)
    Review.objects.filter(pk__in=[r.pk for r in reviews[3:]]).update(due_date=same_day - dt.timedelta(days=1))
    return list(Review.objects.filter(body__code="food-control", status="pending").order_by("due_date", "id"))


def test_reviewer_queue_pages_forward_and_back_in_a_stable_order_with_ties(client, world, small_pages):
    expected = [r.pk for r in _open_food_reviews(world, 5)]
    client.force_login(world.reviewers["food-control"])

    forward, last = _walk(client, "/en/reviews/", NEXT)
    backward, _first = _walk(client, "/en/reviews/", PREVIOUS, first=last)

    assert forward == [expected[0:2], expected[2:4], expected[4:5]]
    assert backward == [expected[4:5], expected[2:4], expected[0:2]]
    last_page = client.get("/en/reviews/" + last).content.decode()
    assert "First page" in last_page and 'rel="next"' not in last_page
    assert "First page" not in client.get("/en/reviews/").content.decode()


def test_a_bad_cursor_shows_the_first_page_and_says_so_never_a_500(client, world, small_pages):
    expected = [r.pk for r in _open_food_reviews(world, 3)]
    client.force_login(world.reviewers["food-control"])
    wrong_shape = cursor_encode(["not a date", "x"])
    for query in ("?after=%%%", "?before=!!", f"?after={wrong_shape}", "?after=WzFd", "?page=7"):
        response = client.get("/ar/reviews/" + query)
        assert response.status_code == 200, query
        page = response.content.decode()
        assert [int(pk) for pk in ROW.findall(page)] == expected[:2], query
    page = client.get("/en/reviews/?after=garbage").content.decode()
    assert "This page link is not valid: start again from the first page." in page


def test_a_cursor_never_shows_another_bodys_reviews(client, world, small_pages):
    _open_food_reviews(world, 3)
    world.in_review(user=applicant(), activities=["sewing-abayas"])
    other = Review.objects.exclude(body__code="food-control").order_by("due_date", "id").first()
    assert other is not None
    client.force_login(world.reviewers["food-control"])
    cursor = cursor_encode([other.due_date - dt.timedelta(days=30), 0])

    page = client.get(f"/en/reviews/?after={cursor}").content.decode()

    shown = {int(pk) for pk in ROW.findall(page)}
    assert shown and Review.objects.filter(pk__in=shown).exclude(body__code="food-control").count() == 0


def test_pipeline_pages_newest_first_and_counts_stop_at_the_cap(client, world, small_pages, monkeypatch):
    for _ in range(4):
        world.submitted(user=applicant())
    Application.objects.update(created_at=timezone.now())  # all tied: the id decides
    expected = list(Application.objects.order_by("-created_at", "-id").values_list("reference", flat=True))
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    client.force_login(world.registrar)

    first = client.get("/en/registrar/").content.decode()
    second = client.get("/en/registrar/" + _link(NEXT, first)).content.decode()  # type: ignore[operator]

    assert [ref for ref in expected[:2] if ref in first] == expected[:2]
    assert not any(ref in first for ref in expected[2:])
    assert [ref for ref in expected[2:] if ref in second] == expected[2:]
    assert "more than <bdi>2</bdi>" in first or "more than 2" in first
    arabic = client.get("/ar/registrar/?status=submitted").content.decode()
    assert expected[0] in arabic


def test_count_capped_counts_each_list_up_to_the_cap_in_one_query(world, django_assert_num_queries):
    for _ in range(3):
        world.submitted(user=applicant())
    lists = {"submitted": Application.objects.filter(status="submitted"), "none": Application.objects.none()}
    lists["draft"] = Application.objects.filter(status="draft")
    with django_assert_num_queries(1):
        counts = count_capped(
            {k: v for k, v in lists.items() if k != "none"},
            2,
        )
    assert counts == {"submitted": 3, "draft": 0}
    assert count_capped({"submitted": lists["submitted"]}, 5) == {"submitted": 3}


def test_keyset_page_reads_both_ways_and_refuses_a_cursor_of_another_shape(world):
    for _ in range(3):
        world.submitted(user=applicant())
    qs = Application.objects.all()
    order = ("-created_at", "-id")
    everyone = list(qs.order_by(*order))

    first = keyset_page(qs, order, size=2)
    second = keyset_page(qs, order, after=first.next_cursor or "", size=2)
    back = keyset_page(qs, order, before=second.previous_cursor or "", size=2)

    assert first.items == everyone[:2] and first.is_first and not first.has_previous
    assert second.items == everyone[2:] and not second.has_next and second.has_previous
    assert back.items == everyone[:2] and back.is_first and back.has_next
    with pytest.raises(BadCursor):
        cursor_decode(Application, ["created_at", "id"], cursor_encode([True, 1]))
    with pytest.raises(BadCursor):
        cursor_decode(Application, ["created_at", "id"], cursor_encode(["2026-01-01T00:00:00+03:00"]))


def test_registrar_overdue_pages_by_due_date(client, world, small_pages):
    reviews = _open_food_reviews(world, 3)
    Review.objects.filter(pk__in=[r.pk for r in reviews]).update(
        due_date=timezone.localdate() - dt.timedelta(days=2)
    )
    client.force_login(world.registrar)

    first = client.get("/en/registrar/overdue/").content.decode()
    second = client.get("/en/registrar/overdue/" + _link(NEXT, first)).content.decode()  # type: ignore[operator]

    overdue = list(
        Review.objects.filter(due_date__lt=timezone.localdate(), status="pending").order_by("due_date", "id")
    )
    refs = [r.application.reference for r in overdue]
    assert len(overdue) >= 3
    assert all(ref in first for ref in refs[:2])
    assert refs[2] in second


def _plan(sql: str) -> str:
    """PostgreSQL's plan of a statement (parameters inlined), the table analysed first in the
    test's own transaction (its rows count), sequential and bitmap scans and sorts (incremental
    ones too) off: costed from whatever statistics earlier tests or autovacuum left, the test's
    few rows had the planner take another index and a sort from run to run."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE approvals_review")
        for setting in ORDERED_PLAN_OFF:  # the page reads its range in order, never sorted after
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_deep_queue_page_starts_its_index_range_at_the_cursors_due_date_and_id(world, direction):
    """PostgreSQL: (due_date, id) beyond the cursor is one row comparison in the index condition,
    not a filter over every review of the cursor's day (thousands of them at national scale)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite bounds the range by the leading due_date >= and runs the OR on the index")
    reviews = _open_food_reviews(world, 5)
    queue = review_queue(world.reviewers["food-control"]).values("id", "due_date")
    cursor = cursor_encode([reviews[2].due_date, reviews[2].pk])

    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(queue, QUEUE_ORDER, size=2, **{direction: cursor})

    expected = reviews[3:5] if direction == "after" else reviews[0:2]
    assert [row["id"] for row in page] == [r.pk for r in expected]
    (sql,) = [q["sql"] for q in queries.captured_queries]
    plan = _plan(sql)
    sign = ">" if direction == "after" else "<"
    index_conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any(f"ROW(due_date, id) {sign} ROW(" in line for line in index_conditions), plan
