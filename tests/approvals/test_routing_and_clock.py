import datetime as dt

import pytest

from khutwa.approvals import services as review_services
from khutwa.approvals.models import Review
from khutwa.catalogue.models import ApprovingBody, PublicHoliday
from khutwa.errors import Refused
from khutwa.licensing import services
from tests.licensing.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


@pytest.mark.parametrize(
    ("activities", "bodies"),
    [
        (["sewing-abayas"], {"municipality", "civil-defence"}),
        (["home-meals"], {"municipality", "civil-defence", "food-control"}),
        (["sewing-abayas", "sweets-pastries", "pottery"], {"municipality", "civil-defence", "food-control"}),
        (["cooking-lessons"], {"municipality", "civil-defence", "food-control"}),
        (["event-photography", "accessories"], {"municipality", "civil-defence"}),
    ],
)
def test_routing_is_the_union_of_the_bodies_the_activities_need(world, activities, bodies):
    app = world.in_review(activities=activities, tier="extended")
    assert set(app.reviews.values_list("body__code", flat=True)) == bodies


def test_inspection_is_required_only_where_the_body_inspects_and_the_activity_needs_it(world):
    app = world.in_review(activities=["home-meals"])
    flags = dict(app.reviews.values_list("body__code", "requires_inspection"))
    assert flags == {"municipality": False, "civil-defence": True, "food-control": True}
    review = app.reviews.get(body__code="food-control")
    with pytest.raises(Refused) as exc:
        review_services.review_decide(
            actor=world.reviewers["food-control"], review=review, decision="approve"
        )
    assert "inspection" in str(exc.value)


def test_registrar_adds_a_body_with_a_reason(world):
    app = world.in_review()
    with pytest.raises(Refused):
        services.review_body_add(actor=world.registrar, application=app, body_code="food-control", reason="")
    review = services.review_body_add(
        actor=world.registrar, application=app, body_code="food-control", reason="Neighbours report cooking"
    )
    assert review.added_reason == "Neighbours report cooking"
    with pytest.raises(Refused):
        services.review_body_add(
            actor=world.registrar, application=app, body_code="food-control", reason="again"
        )


def test_due_date_counts_working_days_and_skips_holidays(world):
    sunday = dt.date(2026, 12, 6)
    PublicHoliday.objects.get_or_create(date=dt.date(2026, 12, 16), defaults={"name_ar": "x", "name_en": "x"})
    PublicHoliday.objects.get_or_create(date=dt.date(2026, 12, 17), defaults={"name_ar": "x", "name_en": "x"})
    app = world.screening()
    from khutwa.licensing import workflow

    app = workflow.transition(app, "accept", actor=world.registrar, actor_kind=workflow.REGISTRAR)
    (review,) = review_services.reviews_open(
        application=app,
        bodies=[ApprovingBody.objects.get(code="municipality")],
        actor=world.registrar,
        today=sunday,
    )
    # 10 working days from Sunday 6 Dec, skipping Wed 16 and Thu 17 Dec: Tue 22 Dec.
    assert review.due_date == dt.date(2026, 12, 22)


def test_a_request_for_information_pauses_that_reviews_clock_only(world):
    app = world.in_review()
    review = app.reviews.get(body__code="municipality")
    other = app.reviews.get(body__code="civil-defence")
    start_due, other_due = review.due_date, other.due_date
    asked = review.started_on
    review_services.review_decide(
        actor=world.reviewers["municipality"],
        review=review,
        decision="request_info",
        reason="Send the tenancy contract",
        today=asked,
    )
    review.refresh_from_db()
    assert review.status == "info_requested" and review.is_paused
    info = review.info_requests.get()
    from khutwa.catalogue.selectors import work_calendar

    answered = work_calendar().add_working_days(asked, 3)
    review_services.review_answer(actor=world.applicant, info_request=info, answer="Attached", today=answered)
    review.refresh_from_db()
    other.refresh_from_db()
    assert review.status == "pending" and not review.is_paused
    assert review.paused_working_days == 3
    assert review.due_date == work_calendar().add_working_days(start_due, 3)
    assert other.due_date == other_due


def test_overdue_and_reminders_are_sent_once(
    world, mailoutbox, run_tasks, django_capture_on_commit_callbacks
):
    from khutwa.approvals.selectors import overdue_by_body, review_queue

    app = world.in_review()
    review = app.reviews.get(body__code="municipality")
    from khutwa.catalogue.selectors import work_calendar

    day_before = work_calendar().previous_working_day(review.due_date)
    world.reviewers["municipality"].email = "rev@example.bh"
    world.reviewers["municipality"].save()
    with django_capture_on_commit_callbacks(execute=True):  # the mail is a task (khutwa.jobs)
        assert review_services.reminders_send(today=day_before) == (2, 0)
        assert review_services.reminders_send(today=day_before) == (0, 0)
        late = review.due_date + dt.timedelta(days=1)
        assert review_services.reminders_send(today=late) == (0, 2)
        assert review_services.reminders_send(today=late) == (0, 0)
    assert mailoutbox == []  # not in the request: the worker sends it
    run_tasks()
    assert any("overdue" in m.subject for m in mailoutbox)
    assert review_queue(world.reviewers["municipality"], overdue=True, today=late).count() == 1
    assert {row["body__code"] for row in overdue_by_body(late)} == {"municipality", "civil-defence"}


def test_a_reviewer_of_another_body_cannot_decide(world):
    app = world.in_review()
    review = app.reviews.get(body__code="municipality")
    with pytest.raises(Refused) as exc:
        review_services.review_decide(
            actor=world.reviewers["civil-defence"], review=review, decision="approve"
        )
    assert exc.value.status == 404
    review.refresh_from_db()
    assert review.status == "pending"


def test_decisions_need_their_text(world):
    app = world.in_review()
    review = app.reviews.get(body__code="municipality")
    reviewer = world.reviewers["municipality"]
    for decision, kw, field in [
        ("reject", {}, "reason"),
        ("request_info", {}, "reason"),
        ("approve_with_conditions", {}, "conditions"),
        ("maybe", {}, "decision"),
    ]:
        with pytest.raises(Refused) as exc:
            review_services.review_decide(actor=reviewer, review=review, decision=decision, **kw)
        assert exc.value.field == field
    assert Review.objects.get(pk=review.pk).status == "pending"
