import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.catalogue.models import ActivityCategory, LicenceTier
from khutwa.documents import services as docs
from khutwa.support.models import Programme, ProgrammeCap
from tests.documents.conftest import _keys, line  # noqa: F401 - the key store fixture
from tests.licensing.factories import World, applicant, staff


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def supplier(world):
    """A licence holder who sells to Tamkeen customers."""
    world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
    return world.applicant


@pytest.fixture
def claimant(db):
    user = applicant(cpr="870303003", username="yousif")
    from khutwa.accounts.services import user_set_roles

    user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
    return user


@pytest.fixture
def officer(db):
    return staff(Role.TAMKEEN_OFFICER)


@pytest.fixture
def finance(db):
    return staff(Role.TAMKEEN_FINANCE)


@pytest.fixture
def book(supplier):
    return docs.customer_create(
        actor=supplier, kind="individual", cpr="870303003", name_en="Yousif", is_tamkeen_customer=True
    )


@pytest.fixture
def programme(db):
    p = Programme.objects.create(
        code="bdsupport",
        name_ar="دعم تطوير الأعمال",
        name_en="Business development support",
        kind="equipment",
        open_from=timezone.localdate() - dt.timedelta(days=30),
        budget=Decimal("10000.000"),
        rate=Decimal("0.500"),
        frequency_months=12,
        beneficiaries="both",
    )
    ProgrammeCap.objects.create(
        programme=p, tier=LicenceTier.objects.get(code="standard"), cap=Decimal("2500.000")
    )
    ProgrammeCap.objects.create(
        programme=p, tier=LicenceTier.objects.get(code="basic"), cap=Decimal("1000.000")
    )
    p.eligible_categories.set(ActivityCategory.objects.filter(code__in=["food", "textiles"]))
    return p


@pytest.fixture
def quotation(supplier, book):
    return docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation",
            customer=book.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document  # 400.000
