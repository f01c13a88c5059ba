import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from khutwa.catalogue.models import Policy
from khutwa.errors import Refused
from khutwa.licensing import services
from khutwa.licensing.models import LicenceEvent
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def test_validity_comes_from_the_tier(world):
    licence = world.licensed(tier="basic")
    today = timezone.localdate()
    assert licence.valid_from == today
    assert licence.valid_until == services._add_months(today, 12) - dt.timedelta(days=1)
    assert licence.holder.has_role("holder")


def test_suspend_reinstate_cancel_with_reasons_and_history(world):
    licence = world.licensed()
    with pytest.raises(Refused):
        services.licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="")
    services.licence_change_status(
        actor=world.registrar, licence=licence, action="suspend", reason="Complaint"
    )
    assert licence.status == "suspended"
    with pytest.raises(Refused):
        services.licence_change_status(
            actor=world.registrar, licence=licence, action="suspend", reason="again"
        )
    services.licence_change_status(
        actor=world.registrar, licence=licence, action="reinstate", reason="Resolved"
    )
    services.licence_change_status(actor=world.applicant, licence=licence, action="cancel", reason="")
    assert licence.status == "cancelled"
    kinds = list(licence.events.values_list("kind", flat=True))
    assert kinds == ["issued", "suspended", "reinstated", "cancelled"]


def test_a_holder_cannot_suspend_and_a_stranger_sees_nothing(world):
    licence = world.licensed()
    with pytest.raises(Refused) as exc:
        services.licence_change_status(actor=world.applicant, licence=licence, action="suspend", reason="x")
    assert exc.value.status == 403
    with pytest.raises(Refused) as exc:
        services.licence_change_status(actor=applicant(), licence=licence, action="cancel", reason="x")
    assert exc.value.status == 404
    licence.refresh_from_db()
    assert licence.status == "active"


def test_expiry_is_automatic_and_idempotent(world, capsys):
    licence = world.licensed()
    after = licence.valid_until + dt.timedelta(days=1)
    assert services.licences_expire(today=licence.valid_until) == 0
    assert services.licences_expire(today=after) == 1
    assert services.licences_expire(today=after) == 0
    licence.refresh_from_db()
    assert licence.status == "expired"
    assert licence.events.filter(kind=LicenceEvent.Kind.EXPIRED).count() == 1
    call_command("expire_licences")
    assert "0 licences expired" in capsys.readouterr().out


def test_renewal_opens_before_expiry_and_extends_validity(world):
    licence = world.licensed()
    with pytest.raises(Refused) as exc:
        services.renewal_open(actor=world.applicant, licence=licence)
    assert "Renewal opens on" in str(exc.value)
    window = Policy.current().renewal_window_days
    day = licence.valid_until - dt.timedelta(days=window)
    app = services.renewal_open(actor=world.applicant, licence=licence, today=day)
    assert app.kind == "renewal"
    app = services.application_submit(actor=world.applicant, application=app)
    app = services.application_start_screening(actor=world.registrar, application=app)
    app = services.application_accept(actor=world.registrar, application=app)
    assert app.status == "approved"  # no body re-reviews by default
    old_until = licence.valid_until
    services.licence_issue(actor=world.registrar, application=app)
    licence.refresh_from_db()
    assert licence.valid_until == services._add_months(old_until + dt.timedelta(days=1), 12) - dt.timedelta(
        days=1
    )
    assert list(licence.events.values_list("kind", flat=True)) == ["issued", "renewed"]


def test_renewal_re_reviewed_by_the_bodies_the_policy_names(world):
    from khutwa.catalogue.models import ApprovingBody

    Policy.current().renewal_bodies.set([ApprovingBody.objects.get(code="civil-defence")])
    licence = world.licensed()
    day = licence.valid_until - dt.timedelta(days=10)
    app = services.renewal_open(actor=world.applicant, licence=licence, today=day)
    app = services.application_submit(actor=world.applicant, application=app)
    app = services.application_start_screening(actor=world.registrar, application=app)
    app = services.application_accept(actor=world.registrar, application=app)
    assert list(app.reviews.values_list("body__code", flat=True)) == ["civil-defence"]


def _amend(world, licence, **changes):
    data = services.licence_input(licence)
    for key, value in changes.items():
        setattr(data, key, value)
    app = services.amendment_open(actor=world.applicant, licence=licence, data=data)
    app = services.application_submit(actor=world.applicant, application=app)
    app = services.application_start_screening(actor=world.registrar, application=app)
    return services.application_accept(actor=world.registrar, application=app)


def test_adding_a_food_activity_sends_reviews_only_to_food_control(world):
    licence = world.licensed(activities=["sewing-abayas"])
    app = _amend(world, licence, activities=["sewing-abayas", "home-meals"])
    assert list(app.reviews.values_list("body__code", flat=True)) == ["food-control"]
    app = world.decide_all(app)
    services.licence_issue(actor=world.registrar, application=app)
    licence.refresh_from_db()
    assert set(licence.activities.values_list("code", flat=True)) == {"sewing-abayas", "home-meals"}


def test_adding_an_activity_needing_no_new_body_is_approved_on_acceptance(world):
    licence = world.licensed(activities=["sewing-abayas"])
    app = _amend(world, licence, activities=["sewing-abayas", "pottery"])
    assert app.status == "approved" and not app.reviews.exists()


def test_a_change_of_address_is_a_full_re_review(world):
    licence = world.licensed(activities=["home-meals"])
    app = _amend(world, licence, block="999", road="1", building="2")
    assert set(app.reviews.values_list("body__code", flat=True)) == {
        "municipality",
        "civil-defence",
        "food-control",
    }


def test_a_suspended_licence_cannot_be_amended(world):
    licence = world.licensed()
    services.licence_change_status(actor=world.registrar, licence=licence, action="suspend", reason="x")
    with pytest.raises(Refused):
        services.amendment_open(actor=world.applicant, licence=licence, data=services.licence_input(licence))
