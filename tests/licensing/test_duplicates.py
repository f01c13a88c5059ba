import pytest

from khutwa.errors import Refused
from khutwa.licensing import services
from tests.licensing.factories import World, applicant, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def test_one_open_application_per_cpr_naming_the_reference(world):
    first = world.submitted()
    with pytest.raises(Refused) as exc:
        services.application_create(actor=world.applicant, data=make_input(cpr=world.applicant.cpr))
    assert first.reference in str(exc.value)
    assert exc.value.field == "cpr"


def test_one_open_application_per_home(world):
    first = world.draft(block="901", road="12", building="7", flat="")
    other = applicant()
    with pytest.raises(Refused) as exc:
        services.application_create(
            actor=other, data=make_input(cpr=other.cpr, block="901", road=" 12", building="٧", flat="")
        )
    assert first.reference in str(exc.value)
    assert exc.value.field == "address"


def test_an_active_licence_blocks_a_new_application_naming_the_licence(world):
    licence = world.licensed()
    with pytest.raises(Refused) as exc:
        services.application_create(actor=world.applicant, data=make_input(cpr=world.applicant.cpr))
    assert licence.number in str(exc.value)


def test_a_withdrawn_application_frees_the_cpr(world):
    first = world.submitted()
    services.application_withdraw(actor=world.applicant, application=first)
    again = services.application_create(actor=world.applicant, data=make_input(cpr=world.applicant.cpr))
    assert again.reference != first.reference


def test_the_database_refuses_a_second_open_application_even_past_the_service(world):
    from django.db import IntegrityError, transaction

    first = world.draft()
    first.pk = None
    first.reference = "APP-TEST-1"
    first.public_id = None
    import uuid

    first.public_id = uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()
