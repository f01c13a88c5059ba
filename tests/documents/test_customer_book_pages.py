"""The holder's customer book goes as deep as the book: 25 entries a page in name order (keyset
pages), searched by a name in either language, a CPR or a CR number, in both languages; another
holder's entries never show, and the page reads the book through its own index."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from khutwa.portal.paging import PAGE_SIZE
from tests.documents.conftest import add_customers

pytestmark = pytest.mark.django_db


def _names(html: str) -> list[str]:
    return re.findall(r'<span dir="ltr">(Client \d{3})</span>', html)


def test_pages_walk_the_whole_book_forwards_and_back(client, holder, world):
    add_customers(holder, 2 * PAGE_SIZE + 3)
    add_customers(world.registrar, 5, start=500)  # someone else's book
    client.force_login(holder)
    seen, html, pages = [], client.get("/en/customers/").content.decode(), []
    while True:
        pages.append(html)
        seen += _names(html)
        found = re.search(r'rel="next" href="\?([^"]+)"', html)
        if not found:
            break
        html = client.get("/en/customers/?" + found.group(1).replace("&amp;", "&")).content.decode()
    assert seen == [f"Client {n:03d}" for n in range(2 * PAGE_SIZE + 3)]
    assert [len(_names(p)) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 3]
    back = re.search(r'rel="prev" href="\?([^"]+)"', pages[-1]).group(1).replace("&amp;", "&")
    assert _names(client.get("/en/customers/?" + back).content.decode()) == _names(pages[1])
    assert "Client 500" not in "".join(pages)


@pytest.mark.parametrize(
    ("language", "query", "expected"),
    [
        ("en", "Client 00", [f"Client 00{n}" for n in range(10)]),
        ("ar", "عميل 012", ["Client 012"]),
        ("en", "900000007", ["Client 007"]),
        ("ar", "CR-8", ["Client 008"]),
    ],
)
def test_search_by_name_cpr_or_cr(client, holder, world, language, query, expected):
    add_customers(holder, 30)
    add_customers(world.registrar, 30)  # the same names, another holder's
    client.force_login(holder)
    html = client.get(f"/{language}/customers/", {"q": query}).content.decode()
    assert _names(html) == expected
    assert f'value="{query}"' in html


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "No customer matches this search."), ("ar", "لا يوجد عميل يطابق هذا البحث.")],
)
def test_a_search_without_a_match_says_so(client, holder, customer, language, message):
    client.force_login(holder)
    assert message in client.get(f"/{language}/customers/?q=nobody").content.decode()


def test_a_cursor_that_does_not_decode_shows_the_first_page_and_says_so(client, holder, customer):
    client.force_login(holder)
    html = client.get("/en/customers/?after=not-a-cursor").content.decode()
    assert "This page link is not valid" in html and "Yousif Ebrahim" in html


def test_a_deep_page_reads_the_book_through_its_index(client, holder, world):
    add_customers(holder, 3 * PAGE_SIZE)
    client.force_login(holder)
    first = client.get("/en/customers/").content.decode()
    cursor = re.search(r'rel="next" href="\?after=([^"&]+)', first).group(1)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/en/customers/?after={cursor}").status_code == 200
    [read] = [q["sql"] for q in queries.captured_queries if "documents_customer" in q["sql"]]
    assert "LIMIT 26" in read
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor_:
            cursor_.execute("EXPLAIN QUERY PLAN " + read)
            plan = " ".join(str(row[-1]) for row in cursor_.fetchall())
        assert "customer_book" in plan and "TEMP B-TREE" not in plan, plan


def test_the_api_finds_customers_by_name_or_number_and_pages_them(client, holder, world):
    from tests.api.test_licensing_api import auth

    add_customers(holder, 30)
    add_customers(world.registrar, 30)
    headers = auth(holder)
    found = client.get("/api/v1/customers", {"q": "عميل 01"}, **headers).json()
    assert [c["name_en"] for c in found["items"]] == [f"Client 01{n}" for n in range(10)]
    assert found["count"] == 10
    by_cr = client.get("/api/v1/customers", {"q": "CR-8"}, **headers).json()
    assert [c["name_en"] for c in by_cr["items"]] == ["Client 008"]
    walked, cursor = [], ""
    while True:
        page = client.get(
            "/api/v1/customers", {"q": "Client", "limit": 7, "cursor": cursor}, **headers
        ).json()
        walked += [c["name_en"] for c in page["items"]]
        if page["next"] is None:
            break
        cursor = page["next"]
    assert walked == [f"Client {n:03d}" for n in range(30)]  # the holder's own, in order
    too_long = client.get("/api/v1/customers", {"q": "x" * 61}, **headers, HTTP_ACCEPT_LANGUAGE="ar")
    assert too_long.status_code == 422 and [e["field"] for e in too_long.json()["errors"]] == ["q"]
