"""What a staff list page reads (issue 14, fourth pass): the rows as plain values (only the
columns they show, no joined objects the rows do not show), and the capped counts compiled once
and then only run, while staying exact as the data changes, day by day and body by body."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count
from django.db.models.sql import compiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from khutwa import keyset
from khutwa.approvals import selectors as review_selectors
from khutwa.approvals.models import Review, ReviewStatus
from khutwa.catalogue.models import ApprovingBody
from khutwa.licensing import selectors, services
from khutwa.licensing.models import Application, ApplicationStatus
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


@pytest.fixture
def compiled(monkeypatch):
    """How many statements the ORM compiles from here on."""
    calls: list[int] = []
    original = compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(compiler.SQLCompiler, "as_sql", counting)
    return calls


def exact_counts() -> dict[str, int]:
    grouped = dict(Application.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: grouped.get(status, 0) for status in ApplicationStatus.values}


def test_pipeline_counts_are_compiled_once_and_stay_exact(world, compiled, django_assert_num_queries):
    world.submitted(user=applicant())
    draft = world.draft(user=applicant())
    assert selectors.pipeline_counts() == exact_counts()  # compiled here (or earlier)

    services.application_submit(actor=draft.applicant, application=draft)
    world.in_review(user=applicant())
    compiled.clear()
    with django_assert_num_queries(1):
        counts = selectors.pipeline_counts()

    assert compiled == []  # the kept statement, run as it is
    assert counts == exact_counts()
    assert counts["submitted"] == 2 and counts["in_review"] == 1 and counts["draft"] == 0
    assert selectors.pipeline_counts(cap=1)["submitted"] == 2  # "more than 1": its own statement


def test_overdue_counts_follow_the_day_and_the_bodies(world, compiled, django_assert_num_queries):
    app = world.in_review(user=applicant(), activities=["home-meals"])
    today = timezone.localdate()
    reviews = list(Review.objects.filter(application=app, status=ReviewStatus.PENDING).order_by("id"))
    Review.objects.filter(pk=reviews[0].pk).update(due_date=today - dt.timedelta(days=1))
    Review.objects.filter(pk__in=[r.pk for r in reviews[1:]]).update(due_date=today + dt.timedelta(days=3))
    late_body = reviews[0].body

    assert {row["body__code"]: row["n"] for row in review_selectors.overdue_by_body(today)} == {
        late_body.code: 1
    }
    compiled.clear()
    with django_assert_num_queries(2):  # the bodies, the counts
        review_selectors.overdue_by_body(today)
    assert len(compiled) == 1  # the bodies' query only

    later = today + dt.timedelta(days=5)  # another day: every pending review is late
    assert {row["body__code"]: row["n"] for row in review_selectors.overdue_by_body(later)} == {
        r.body.code: 1 for r in reviews
    }
    ApprovingBody.objects.filter(pk=late_body.pk).update(is_active=False)
    assert late_body.code not in {row["body__code"] for row in review_selectors.overdue_by_body(later)}


def test_kept_statements_are_few(world):
    keyset._STATEMENTS.clear()
    for days in range(keyset._STATEMENTS_KEPT + 5):
        review_selectors.overdue_by_body(timezone.localdate() + dt.timedelta(days=days))
    assert 0 < len(keyset._STATEMENTS) <= keyset._STATEMENTS_KEPT


def page_sql(client, url: str, table: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200 and b"<tr" in response.content
    (sql,) = [
        q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"] and "LIMIT 26" in q["sql"]
    ]
    return sql


def test_the_pipeline_reads_only_what_its_rows_show(client, world):
    app = world.in_review(user=applicant())
    client.force_login(world.registrar)

    sql = page_sql(client, "/en/registrar/", "licensing_application")
    page = client.get("/en/registrar/").content.decode()

    assert "catalogue_licencetier" not in sql  # the tier is not shown
    assert '"licensing_application"."cpr"' not in sql and '"licensing_application"."phone"' not in sql
    assert app.reference in page and app.trade_name in page and app.governorate.name_en in page


def test_the_queue_reads_only_what_its_rows_show(client, world):
    app = world.in_review(user=applicant(), activities=["home-meals"])
    client.force_login(world.reviewers["food-control"])

    sql = page_sql(client, "/en/reviews/", "approvals_review")
    page = client.get("/en/reviews/").content.decode()

    assert '"licensing_application"."cpr"' not in sql and '"licensing_application"."phone"' not in sql
    assert app.reference in page and app.name_en in page and app.trade_name in page
