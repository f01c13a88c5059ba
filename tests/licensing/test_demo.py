"""The licensing demo data: a realistic registry that keeps the domain's rules, loaded once.

Each test loads the demo (about a second), so each asserts many things.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.utils import timezone

from khutwa.accounts.models import User
from khutwa.approvals import services as approvals
from khutwa.approvals.models import (
    APPROVING_STATUSES,
    OPEN_REVIEW_STATUSES,
    InfoRequest,
    Inspection,
    Review,
    ReviewStatus,
)
from khutwa.approvals.selectors import review_queue
from khutwa.audit.models import AuditEvent
from khutwa.audit.services import audit_verify_chains
from khutwa.catalogue.models import ApprovingBody, Governorate, LicenceTier
from khutwa.catalogue.selectors import work_calendar
from khutwa.catalogue.services import bodies_required
from khutwa.licensing import services, workflow
from khutwa.licensing.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    ApplicationTransition,
    Channel,
    Counter,
    Licence,
    LicenceEvent,
    LicenceStatus,
)

pytestmark = pytest.mark.django_db

REVIEWER_ACCOUNTS = ("reviewer-municipality", "reviewer-civildefence", "reviewer-health")
NUMBER_RE = re.compile(r"^(APP|KH)-(\d{4})-(\d{6})$")


def _demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def _table_counts() -> dict[str, int]:
    models = (
        Application,
        ApplicationTransition,
        Review,
        InfoRequest,
        Inspection,
        Licence,
        LicenceEvent,
        Counter,
        AuditEvent,
    )
    return {model.__name__: model.objects.count() for model in models}


def _highest(numbers: list[str]) -> dict[int, int]:
    highest: dict[int, int] = defaultdict(int)
    for number in numbers:
        match = NUMBER_RE.match(number)
        assert match, number
        highest[int(match[2])] = max(highest[int(match[2])], int(match[3]))
    return highest


def test_demo_is_a_realistic_registry_within_the_rules_and_loads_once():
    output = _demo()
    assert "Licensing: created" in output
    today = timezone.localdate()
    apps = list(
        Application.objects.select_related("governorate", "tier").prefetch_related(
            "activities__bodies", "transitions", "reviews"
        )
    )

    # A spread over two years, every status, governorate, tier, kind and channel.
    assert len(apps) >= 660
    assert {a.status for a in apps} == set(ApplicationStatus.values)
    assert {a.governorate.code for a in apps} == {"capital", "muharraq", "northern", "southern"}
    assert {a.governorate.code for a in apps} == set(Governorate.objects.values_list("code", flat=True))
    assert {a.tier.code for a in apps} == set(LicenceTier.objects.values_list("code", flat=True))
    assert {a.kind for a in apps} == set(ApplicationKind.values)
    assert {a.channel for a in apps} == set(Channel.values)
    assert min(a.created_at for a in apps).date() >= today - dt.timedelta(days=730)
    assert min(a.created_at for a in apps).date() <= today - dt.timedelta(days=600)
    assert max(a.created_at for a in apps) <= timezone.now()
    mixes = {
        (any(x.is_food for x in a.activities.all()), any(not x.is_food for x in a.activities.all()))
        for a in apps
    }
    assert mixes == {(True, False), (False, True), (True, True)}
    assert any(a.appealed_at for a in apps) and any(a.returned_items for a in apps)
    assert set(Licence.objects.values_list("status", flat=True)) == set(LicenceStatus.values)
    assert InfoRequest.objects.filter(answered_at__isnull=True).exists()
    assert Inspection.objects.filter(outcome="failed").exists()
    cprs = {a.cpr for a in apps if a.applicant_id is None}
    assert cprs.isdisjoint({"900101001", "880202002", "870303003"})
    assert all(len(c) == 9 and c.isdigit() for c in cprs)

    # Each status change is a move of the state machine, in time order, ending where the
    # application is; the reviews agree with the state.
    for app in apps:
        status, previous = ApplicationStatus.DRAFT, app.created_at
        for move in sorted(app.transitions.all(), key=lambda t: (t.at, t.pk)):
            spec = workflow.TRANSITIONS[move.action]
            assert move.from_status == status and status in spec.sources, app.reference
            assert move.to_status == spec.target and previous <= move.at <= timezone.now(), app.reference
            status, previous = move.to_status, move.at
        assert status == app.status, app.reference
        reviews = list(app.reviews.all())
        states = {r.status for r in reviews}
        if app.kind == ApplicationKind.NEW and app.status in (
            "in_review",
            "approved",
            "licence_issued",
            "rejected",
        ):
            needed = {b.pk for b in bodies_required(list(app.activities.all()))}
            assert sorted(r.body_id for r in reviews) == sorted(needed), app.reference
        if app.status in ("approved", "licence_issued"):
            assert states <= set(APPROVING_STATUSES), app.reference
        if app.status == "rejected":
            assert ReviewStatus.REJECTED in states, app.reference
        if app.status == "in_review":
            assert states & set(OPEN_REVIEW_STATUSES), app.reference
        if app.status == "withdrawn":
            assert not states & set(OPEN_REVIEW_STATUSES), app.reference

    # Every review's due date follows the working calendar.
    calendar = work_calendar()
    for review in Review.objects.all():
        expected = calendar.add_working_days(
            review.started_on, review.sla_working_days + review.paused_working_days
        )
        assert review.due_date == expected, review.pk

    # Each reviewer has a queue to work, some of it overdue.
    for body in ApprovingBody.objects.filter(is_active=True):
        assert Review.objects.filter(body=body, status=ReviewStatus.PENDING).count() >= 20, body.code
    for username in REVIEWER_ACCOUNTS:
        reviewer = User.objects.get(username=username)
        assert review_queue(reviewer, status=ReviewStatus.PENDING).count() >= 20, username
        assert review_queue(reviewer, overdue=True).exists(), username

    # The holder's licence is live, and the applicant's application is with the bodies.
    holder = User.objects.get(username="holder")
    licence = Licence.objects.get(holder=holder)
    assert licence.status == LicenceStatus.ACTIVE and licence.cpr == "880202002"
    assert licence.valid_from <= today and licence.valid_until >= today + dt.timedelta(days=183)
    assert licence.tier.code == "standard" and licence.trade_name == "مطبخ عائشة / Aisha's Kitchen"
    activities = list(licence.activities.all())
    assert {a.code for a in activities} == {"home-meals", "sewing-abayas"}
    assert {a.is_food for a in activities} == {True, False}
    mine = Application.objects.filter(applicant__username="applicant")
    assert [a.status for a in mine] == [ApplicationStatus.IN_REVIEW]

    # The counters are at or past every number used, so later numbers cannot collide.
    counters = {(c.name, c.year): c.last for c in Counter.objects.all()}
    for name, numbers in (
        ("application", Application.objects.values_list("reference", flat=True)),
        ("licence", Licence.objects.values_list("number", flat=True)),
    ):
        for year, highest in _highest(list(numbers)).items():
            assert counters[(name, year)] >= highest, (name, year)
    assert counters[("application", today.year)] >= 1

    assert audit_verify_chains()[1] == []

    # A second load creates nothing.
    before = _table_counts()
    assert "nothing created" in _demo()
    assert _table_counts() == before
    assert audit_verify_chains()[1] == []


def test_demo_accounts_have_a_real_audit_trail_and_new_numbers_follow_on():
    _demo()
    holder = User.objects.get(username="holder")
    licence = Licence.objects.get(holder=holder)
    app = Application.objects.get(licence=licence, kind=ApplicationKind.NEW)
    assert app.applicant == holder and app.channel == Channel.ONLINE
    actions = set(
        AuditEvent.objects.filter(object_type="licensing.application", object_id=str(app.pk)).values_list(
            "action", flat=True
        )
    )
    assert {
        "licensing.application.create",
        "licensing.application.submit",
        "licensing.application.start_screening",
        "licensing.application.accept",
        "licensing.application.approve",
        "licensing.application.issue_licence",
    } <= actions
    review_actions = set(
        AuditEvent.objects.filter(
            object_type="approvals.review",
            object_id__in=[str(pk) for pk in app.reviews.values_list("pk", flat=True)],
        ).values_list("action", flat=True)
    )
    assert {
        "approvals.review.open",
        "approvals.inspection.record",
        "approvals.review.approve_with_conditions",
    } <= (review_actions)
    assert AuditEvent.objects.filter(
        object_type="licensing.licence", action="licensing.licence.issued"
    ).exists()
    assert AuditEvent.objects.filter(action="demo.licensing.load").count() == 1

    # A walk-in filed now takes the next reference, and its licence the next number.
    registrar = User.objects.get(username="registrar")
    year = timezone.localdate().year
    next_reference = Counter.objects.get(name="application", year=year).last + 1
    next_number = Counter.objects.get(name="licence", year=year).last + 1
    data = services.ApplicationInput(
        cpr="990000017",
        name_ar="مريم علي الحداد",
        name_en="Maryam Ali Al-Haddad",
        phone="36123456",
        building="7777",
        road="7777",
        block="7777",
        area="Isa Town",
        governorate="southern",
        trade_name="حلويات مريم / Maryam Sweets",
        tier="basic",
        activities=["sweets-pastries"],
    )
    walk_in = services.application_create(actor=registrar, data=data)
    assert walk_in.reference == f"APP-{year}-{next_reference:06d}"
    walk_in = services.application_submit(actor=registrar, application=walk_in)
    walk_in = services.application_start_screening(actor=registrar, application=walk_in)
    walk_in = services.application_accept(actor=registrar, application=walk_in)
    for review in walk_in.reviews.all():
        reviewer = User.objects.get(body=review.body)
        if review.requires_inspection:
            inspection = approvals.inspection_schedule(
                actor=reviewer, review=review, scheduled_for=timezone.localdate(), inspector=reviewer
            )
            approvals.inspection_record(actor=reviewer, inspection=inspection, outcome="passed", notes="ok")
        approvals.review_decide(actor=reviewer, review=review, decision="approve")
    walk_in.refresh_from_db()
    issued = services.licence_issue(actor=registrar, application=walk_in)
    assert issued.number == f"KH-{year}-{next_number:06d}"
    assert audit_verify_chains()[1] == []
