import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from khutwa.approvals.models import Review
from khutwa.audit.models import AuditEvent
from khutwa.errors import NotFound, Refused
from khutwa.licensing import services, workflow
from khutwa.licensing.models import Application, ApplicationTransition, Channel, Notice
from tests.licensing.factories import World, applicant, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def test_the_happy_path_walks_every_state_and_leaves_a_trail(world):
    app = world.draft()
    assert app.status == "draft" and app.reference.startswith(f"APP-{timezone.localdate().year}-")
    app = services.application_submit(actor=world.applicant, application=app)
    app = services.application_start_screening(actor=world.registrar, application=app)
    app = services.application_accept(actor=world.registrar, application=app)
    assert app.status == "in_review"
    app = world.decide_all(app)
    assert app.status == "approved"
    licence = services.licence_issue(actor=world.registrar, application=app)
    app.refresh_from_db()
    assert app.status == "licence_issued" and app.licence == licence
    statuses = list(ApplicationTransition.objects.filter(application=app).values_list("to_status", flat=True))
    assert statuses == ["submitted", "screening", "in_review", "approved", "licence_issued"]
    actions = set(
        AuditEvent.objects.filter(object_id=str(app.pk), object_type="licensing.application").values_list(
            "action", flat=True
        )
    )
    assert {
        "licensing.application.submit",
        "licensing.application.accept",
        "licensing.application.approve",
        "licensing.application.issue_licence",
    } <= actions
    assert Notice.objects.filter(user=world.applicant, application=app).count() == 5


def test_every_transition_notifies_by_email_after_commit(
    world, django_capture_on_commit_callbacks, run_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = world.submitted()
    assert mail.outbox == []  # sent by a worker, not in the request
    assert run_tasks() == 1
    assert [m.to for m in mail.outbox] == [[app.email]]
    assert app.reference in mail.outbox[0].subject


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("draft", "start_screening"),
        ("draft", "accept"),
        ("submitted", "accept"),
        ("submitted", "submit"),
        ("in_review", "submit"),
        ("in_review", "issue_licence"),
        ("screening", "appeal"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(world, state, action):
    app = getattr(world, state)() if state != "draft" else world.draft()
    before_events = AuditEvent.objects.count()
    before_transitions = ApplicationTransition.objects.count()
    actor_kind = workflow.APPLICANT if action in ("submit", "appeal") else workflow.REGISTRAR
    with pytest.raises(Refused) as exc:
        workflow.transition(app, action, actor=world.registrar, actor_kind=actor_kind)
    app.refresh_from_db()
    assert app.status == state
    assert "cannot be moved" in str(exc.value) or "may not" in str(exc.value)
    assert AuditEvent.objects.count() == before_events
    assert ApplicationTransition.objects.count() == before_transitions


def test_the_wrong_actor_is_refused(world):
    app = world.submitted()
    with pytest.raises(Refused):
        services.application_start_screening(actor=world.applicant, application=app)
    with pytest.raises(Refused):
        workflow.transition(app, "start_screening", actor=world.applicant, actor_kind=workflow.APPLICANT)
    app.refresh_from_db()
    assert app.status == "submitted"


def test_return_for_missing_items_then_resubmit(world):
    app = world.screening()
    with pytest.raises(Refused):
        services.application_return(actor=world.registrar, application=app, items="  ")
    app = services.application_return(actor=world.registrar, application=app, items="Tenancy contract")
    assert app.status == "draft" and app.returned_items == "Tenancy contract"
    app = services.application_update(
        actor=world.applicant, application=app, data=make_input(cpr=app.cpr, trade_name="New name")
    )
    app = services.application_submit(actor=world.applicant, application=app)
    assert app.status == "submitted" and app.returned_items == "" and app.trade_name == "New name"


def test_withdraw_closes_the_open_reviews(world):
    app = world.in_review()
    app = services.application_withdraw(actor=world.applicant, application=app)
    assert app.status == "withdrawn"
    assert set(app.reviews.values_list("status", flat=True)) == {"closed"}


def test_a_rejection_rejects_with_reasons_and_one_appeal_reopens_that_body(world):
    app = world.in_review()
    municipality = app.reviews.get(body__code="municipality")
    world.decide(municipality, "reject", reason="The home is in a non-residential zone")
    app.refresh_from_db()
    assert app.status == "rejected"
    assert "non-residential zone" in app.rejection_reasons
    app = services.application_appeal(actor=world.applicant, application=app, reason="It is residential")
    assert app.status == "in_review"
    municipality.refresh_from_db()
    assert municipality.status == "pending" and municipality.reopened_count == 1
    world.decide(municipality, "reject", reason="Still not")
    app.refresh_from_db()
    with pytest.raises(Refused) as exc:
        services.application_appeal(actor=world.applicant, application=app, reason="again")
    assert "already appealed" in str(exc.value)


def test_appeal_window_is_the_policys(world):
    app = world.in_review()
    world.decide(app.reviews.get(body__code="civil-defence"), "reject", reason="No fire extinguisher")
    app.refresh_from_db()
    late = timezone.localdate() + dt.timedelta(days=31)
    with pytest.raises(Refused):
        services.application_appeal(actor=world.applicant, application=app, reason="x", today=late)
    app.refresh_from_db()
    assert app.status == "rejected"


def test_approve_with_conditions_puts_them_on_the_licence(world):
    app = world.in_review(activities=["home-meals"])
    for review in app.reviews.all():
        if review.body.code == "food-control":
            world.decide(review, "approve_with_conditions", conditions="Keep the kitchen separate")
        else:
            world.decide(review)
    app.refresh_from_db()
    licence = services.licence_issue(actor=world.registrar, application=app)
    assert "Keep the kitchen separate" in licence.conditions
    assert licence.number.startswith(f"KH-{timezone.localdate().year}-")


def test_registrar_files_for_a_walk_in_recorded_as_assisted(world):
    walk_in = applicant()
    app = services.application_create(actor=world.registrar, data=make_input(cpr=walk_in.cpr))
    assert app.channel == Channel.ASSISTED
    assert app.filed_by == world.registrar
    assert app.applicant == walk_in
    app = services.application_submit(actor=world.registrar, application=app)
    assert app.status == "submitted"


def test_an_applicant_can_apply_only_for_themself(world):
    with pytest.raises(Refused):
        services.application_create(actor=world.applicant, data=make_input(cpr="123456789"))


def test_another_applicant_cannot_touch_the_application(world):
    app = world.draft()
    stranger = applicant()
    with pytest.raises(NotFound):
        services.application_submit(actor=stranger, application=app)
    app.refresh_from_db()
    assert app.status == "draft"


def test_bad_input_names_every_field_and_saves_nothing(world):
    from django.core.exceptions import ValidationError

    before = Application.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.application_create(
            actor=world.registrar,
            data=make_input(
                cpr="12",
                phone="12",
                governorate="atlantis",
                activities=["astrology"],
                tier="basic",
                building="",
            ),
        )
    assert {"cpr", "phone", "governorate", "activities", "building"} <= set(exc.value.message_dict)
    assert Application.objects.count() == before


def test_a_refused_application_consumes_no_reference(world):
    first = world.draft()
    with pytest.raises(Refused):
        services.application_create(actor=world.applicant, data=make_input(cpr=world.applicant.cpr))
    second = services.application_create(actor=world.registrar, data=make_input())
    n1 = int(first.reference.rsplit("-", 1)[1])
    n2 = int(second.reference.rsplit("-", 1)[1])
    assert n2 == n1 + 1


def test_reviews_are_created_once_per_body(world):
    app = world.in_review(activities=["sewing-abayas", "home-meals"])
    assert sorted(Review.objects.filter(application=app).values_list("body__code", flat=True)) == [
        "civil-defence",
        "food-control",
        "municipality",
    ]
