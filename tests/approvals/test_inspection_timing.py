"""An inspection's outcome is recorded from the day of the visit on, never before it was
scheduled to happen (issue 10), in the service, the page and the API."""

import datetime as dt

import pytest
from django.utils import timezone

from khutwa.approvals import services as review_services
from khutwa.approvals.models import Inspection
from khutwa.errors import Refused
from tests.api.test_licensing_api import auth
from tests.licensing.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


@pytest.fixture
def scheduled(world):
    app = world.in_review(activities=["home-meals"])
    review = app.reviews.get(body__code="food-control")
    reviewer = world.reviewers["food-control"]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    inspection = review_services.inspection_schedule(
        actor=reviewer, review=review, scheduled_for=tomorrow, inspector=reviewer
    )
    return reviewer, review, inspection


def test_the_service_refuses_before_the_day_and_records_on_it(scheduled):
    reviewer, _review, inspection = scheduled
    with pytest.raises(Refused) as refused:
        review_services.inspection_record(actor=reviewer, inspection=inspection, outcome="passed", notes="")
    assert refused.value.field == "outcome" and inspection.scheduled_for.isoformat() in str(refused.value)
    assert Inspection.objects.get(pk=inspection.pk).outcome == "scheduled"
    done = review_services.inspection_record(
        actor=reviewer, inspection=inspection, outcome="passed", notes="ok", today=inspection.scheduled_for
    )
    assert done.outcome == "passed"


@pytest.mark.parametrize("language, words", [("en", "can be recorded from"), ("ar", "يمكن تسجيل")])
def test_the_page_offers_no_outcome_form_before_the_day_and_refuses_a_forged_post(
    client, scheduled, language, words
):
    reviewer, review, inspection = scheduled
    client.force_login(reviewer)
    page = client.get(f"/{language}/reviews/{review.pk}/").content.decode()
    assert f'data-outcome-from="{inspection.scheduled_for.isoformat()}"' in page
    assert 'name="inspection"' not in page and words in page
    response = client.post(
        f"/{language}/reviews/{review.pk}/outcome/",
        {"inspection": inspection.pk, "outcome": "passed", "notes": ""},
        follow=True,
    )
    # The review page again, with the refusal on top of the outcome form (docs/forms.md).
    assert response.status_code == 400 and inspection.scheduled_for.isoformat() in response.content.decode()
    assert Inspection.objects.get(pk=inspection.pk).outcome == "scheduled"


def test_the_api_answers_409_before_the_day(client, scheduled):
    reviewer, review, inspection = scheduled
    response = client.post(
        f"/api/v1/reviews/{review.pk}/inspections/{inspection.pk}/outcome",
        {"outcome": "passed", "notes": ""},
        content_type="application/json",
        **auth(reviewer),
    )
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert Inspection.objects.get(pk=inspection.pk).outcome == "scheduled"
