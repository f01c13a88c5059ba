"""Lists of the API that go deep page by keyset with `?cursor=` (README, "Additions to API.md"):
following `next` gives the same items as the offset pages, ties broken by id; a cursor the list did
not make is a 422 naming `cursor`; a cursor never widens what the caller sees; without a cursor,
`limit`, `offset` and the exact `count` work as before."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa.approvals.models import Review
from khutwa.keyset import cursor_encode
from khutwa.licensing.models import Application
from tests.api.test_licensing_api import auth
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def _walk(client, path: str, headers: dict[str, str], limit: int, **params) -> list[list[int]]:
    pages, cursor = [], ""
    for _ in range(30):
        response = client.get(path, {**params, "limit": limit, "cursor": cursor}, **headers)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["count"] == len(data["items"])
        pages.append([item["id"] for item in data["items"]])
        if data["next"] is None:
            return pages
        cursor = data["next"]
    raise AssertionError("the cursors go round in circles")


def _offset_pages(
    client, path: str, headers: dict[str, str], limit: int, **params
) -> tuple[list[list[int]], int]:
    pages, offset, total = [], 0, None
    while True:
        data = client.get(path, {**params, "limit": limit, "offset": offset}, **headers).json()
        total = data["count"] if total is None else total
        if not data["items"]:
            return pages, total
        pages.append([item["id"] for item in data["items"]])
        offset += limit


def _applications(world, n: int) -> list[int]:
    for _ in range(n):
        world.submitted(user=applicant())
    # Ties: three created at the same moment, which the ids alone order.
    tied = list(Application.objects.order_by("id").values_list("id", flat=True)[:3])
    Application.objects.filter(pk__in=tied).update(created_at=timezone.now())
    return list(Application.objects.order_by("-created_at", "-id").values_list("id", flat=True))


def _open_food_reviews(world, n: int) -> list[int]:
    for _ in range(n):
        world.in_review(user=applicant(), activities=["home-meals"])
    reviews = list(Review.objects.filter(body__code="food-control", status="pending").order_by("id"))
    same_day = timezone.localdate() + dt.timedelta(days=3)
    Review.objects.filter(pk__in=[r.pk for r in reviews[:3]]).update(due_date=same_day)
    Review.objects.filter(pk__in=[r.pk for r in reviews[3:]]).update(due_date=same_day - dt.timedelta(days=1))
    return list(
        Review.objects.filter(body__code="food-control", status="pending")
        .order_by("due_date", "id")
        .values_list("id", flat=True)
    )


def _same_pages_both_ways(client, url, who, expected):
    """Five rows in pages of two, by cursor and by offset: the same pages, in the list's order."""
    by_cursor = _walk(client, url, who, 2)
    by_offset, total = _offset_pages(client, url, who, 2)
    assert by_cursor == by_offset == [expected[0:2], expected[2:4], expected[4:5]]
    assert total == 5


def test_the_registrars_applications_by_cursor_are_the_offset_pages(client, world):
    _same_pages_both_ways(client, "/api/v1/applications", auth(world.registrar), _applications(world, 5))


def test_an_applicants_own_applications_page_by_cursor_and_nothing_else(client, world):
    _applications(world, 3)
    mine = []
    for _ in range(3):  # one open application per CPR: the earlier ones withdrawn
        mine.append(world.submitted().pk)
        Application.objects.filter(pk=mine[-1]).update(status="withdrawn")
    me = auth(world.applicant)
    pages = _walk(client, "/api/v1/applications", me, 2)
    assert sorted(pk for page in pages for pk in page) == sorted(mine)
    assert [len(page) for page in pages] == [2, 1]
    # A cursor made from another applicant's newest application shows only the caller's own.
    newest = Application.objects.order_by("-created_at", "-id").first()
    assert newest is not None
    cursor = cursor_encode([newest.created_at + dt.timedelta(days=1), newest.pk + 1])
    data = client.get("/api/v1/applications", {"cursor": cursor}, **me).json()
    assert {item["id"] for item in data["items"]} == set(mine)


def test_the_review_queue_by_cursor_is_the_offset_pages_ties_by_id(client, world):
    expected = _open_food_reviews(world, 5)
    _same_pages_both_ways(client, "/api/v1/reviews", auth(world.reviewers["food-control"]), expected)


def test_a_cursor_never_shows_another_bodys_reviews(client, world):
    _open_food_reviews(world, 3)
    world.in_review(user=applicant(), activities=["sewing-abayas"])
    other = Review.objects.exclude(body__code="food-control").order_by("due_date", "id").first()
    assert other is not None
    cursor = cursor_encode([other.due_date - dt.timedelta(days=30), 0])
    data = client.get("/api/v1/reviews", {"cursor": cursor}, **auth(world.reviewers["food-control"])).json()
    shown = {item["id"] for item in data["items"]}
    assert shown and not Review.objects.filter(pk__in=shown).exclude(body__code="food-control").exists()


def test_a_keyset_page_reads_no_count_and_no_offset(client, world):
    _open_food_reviews(world, 4)
    reviewer = auth(world.reviewers["food-control"])
    first = client.get("/api/v1/reviews", {"cursor": "", "limit": 2}, **reviewer).json()
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/reviews", {"cursor": first["next"], "limit": 2}, **reviewer)
    sql = " ".join(q["sql"] for q in queries.captured_queries if "approvals_review" in q["sql"]).upper()
    assert "COUNT(" not in sql and "OFFSET" not in sql


def test_the_offset_pages_say_where_the_next_one_starts(client, world):
    expected = _open_food_reviews(world, 3)
    reviewer = auth(world.reviewers["food-control"])
    data = client.get("/api/v1/reviews", {"limit": 2}, **reviewer).json()
    assert data["count"] == 3 and data["next"]
    rest = client.get("/api/v1/reviews", {"limit": 2, "cursor": data["next"]}, **reviewer).json()
    assert [item["id"] for item in rest["items"]] == expected[2:] and rest["next"] is None
    assert client.get("/api/v1/reviews", {"limit": 2, "offset": 2}, **reviewer).json()["next"] is None


def test_the_end_of_the_list_stays_the_end_when_its_rows_leave(client, world):
    expected = _open_food_reviews(world, 3)
    reviewer = auth(world.reviewers["food-control"])
    page = client.get("/api/v1/reviews", {"cursor": "", "limit": 2}, **reviewer).json()
    Review.objects.filter(pk=expected[2]).update(status="approved")  # decided meanwhile
    rest = client.get("/api/v1/reviews", {"cursor": page["next"], "limit": 2}, **reviewer).json()
    assert rest == {"items": [], "count": 0, "next": None}


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize(
    "cursor",
    ["%%%", "WzFd", cursor_encode(["not a date", "x"]), cursor_encode([True, 1]), "x" * 201],
)
def test_a_cursor_the_list_did_not_make_is_a_422_naming_it(client, world, cursor, language):
    _open_food_reviews(world, 1)
    for path, user in (
        ("/api/v1/reviews", world.reviewers["food-control"]),
        ("/api/v1/applications", world.registrar),
    ):
        response = client.get(path, {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE=language, **auth(user))
        assert response.status_code == 422, (path, cursor)
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["cursor"]
    if language == "en" and cursor == "WzFd":
        assert (
            problem["errors"][0]["message"] == "This page link is not valid: start again from the first page."
        )


def test_customers_support_applications_and_deliveries_take_a_cursor_too(client, world):
    # The other lists that grow without bound (a holder's book, Tamkeen's queue, a webhook's log).
    for path in (
        "/api/v1/customers",
        "/api/v1/support/applications",
    ):
        data = client.get(path, {"cursor": ""}, **auth(world.applicant)).json()
        assert data == {"items": [], "count": 0, "next": None}, path
    schema = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/applications",
        "/api/v1/reviews",
        "/api/v1/customers",
        "/api/v1/support/applications",
        "/api/v1/webhooks/subscriptions/{subscription_id}/deliveries",
    ):
        names = [p["name"] for p in schema["paths"][path]["get"]["parameters"]]
        assert {"cursor", "limit", "offset"} <= set(names), path
