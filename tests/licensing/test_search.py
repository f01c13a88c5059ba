"""Registrar and reviewer search: by reference, licence number and CPR through their indexes, and
by name Arabic-normalised through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL)."""

import pytest
from django.db import connection

from khutwa.arabic import normalize
from khutwa.licensing import selectors
from khutwa.licensing.models import Application
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


@pytest.fixture
def people(world):
    fatima = world.in_review(activities=["home-meals"], name_ar="فاطِمَة أحمد", name_en="Fatima Ahmed")
    maryam = world.in_review(
        user=applicant(),
        activities=["home-meals"],
        name_ar="مريم عيسى",
        name_en="Maryam Isa",
        trade_name="Abayas",
    )
    return fatima, maryam


def _found(query: str) -> set[str]:
    return set(selectors.pipeline(query=query).values_list("reference", flat=True))


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("فاطمه", "fatima"),  # ta marbuta typed as ha
        ("فاطمة", "fatima"),
        ("احمد", "fatima"),  # plain alef for hamza on alef
        ("أحمد", "fatima"),
        ("فـاطـمـة", "fatima"),  # tatweel
        ("FATIMA", "fatima"),
        ("عيسي", "maryam"),  # ya for alef maqsura
        ("maryam isa", "maryam"),
        ("مريم عيسى", "maryam"),
        ("فاطمة مريم", None),
        ("زينب", None),
    ],
)
def test_search_by_name_is_arabic_normalised(people, query, who):
    fatima, maryam = people
    expected = {"fatima": {fatima.reference}, "maryam": {maryam.reference}, None: set()}[who]
    assert _found(query) == expected


def test_search_by_reference_cpr_and_licence_number(world, people):
    fatima, maryam = people
    licence = world.licensed(user=applicant(), name_ar="زينب", name_en="Zainab")
    licensed_app = Application.objects.get(licence=licence)

    assert _found(fatima.reference.lower()) == {fatima.reference}
    assert _found(maryam.cpr) == {maryam.reference}
    assert _found(licence.number) == {licensed_app.reference}
    assert _found(licence.number.lower()) == {licensed_app.reference}
    assert _found("KH-2000-000001") == set()
    assert _found(" APP-1999-000001 ") == set()


def test_the_name_index_follows_a_name_changed_after_filing(people):
    fatima, _maryam = people
    Application.objects.filter(pk=fatima.pk).update(name_search=normalize("سارة الحداد"))

    assert _found("ساره") == {fatima.reference}
    assert _found("فاطمه") == set()


def test_a_reviewer_searches_only_their_bodys_queue_by_name(client, world, people):
    fatima, maryam = people
    sewing = world.in_review(user=applicant(), activities=["sewing-abayas"], name_ar="فاطمة علي")
    client.force_login(world.reviewers["food-control"])

    page = client.get("/ar/reviews/", {"q": "فاطمه"}).content.decode()

    assert fatima.reference in page
    assert sewing.reference not in page and maryam.reference not in page


def test_a_name_search_reads_the_trigram_index(people):
    sql, params = selectors.pipeline(query="فاطمه").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "licensing_application_name_fts VIRTUAL TABLE INDEX" in plan
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "application_name_trgm" in plan


def test_a_phrase_reads_from_the_trigram_index_only_the_rows_that_hold_it(world):
    """PostgreSQL: the index is over the names with their spaces joined (licensing 0007), so the
    trigrams of "زينب ال" cross the space: rows with both words apart are no candidates (over
    the names as they were, pg_trgm took each word alone and rechecked every such row)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's FTS5 trigram table matches the phrase itself")
    holder = world.in_review(name_ar="زينب الحداد", name_en="Zainab")
    for name in ("الزهراء زينب", "زينب علي الحسن", "الحسن زينب", "زينب_ال"):
        world.in_review(user=applicant(), name_ar=name, name_en="Other")
    sql, params = selectors.pipeline(query="زينب ال").query.sql_with_params()

    assert _found("زينب ال") == {holder.reference}
    assert _found("زينب_ال") == {Application.objects.get(name_ar="زينب_ال").reference}
    assert _found("ينب ال%") == set()  # LIKE's wildcards are the query's letters
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on application_name_joined_trgm" in plan, plan
    # No candidate without the phrase (each row's other versions are not rechecked, just unseen).
    assert "Rows Removed by Index Recheck" not in plan, plan
