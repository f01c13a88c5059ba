import datetime as dt

import pytest
from django.utils import timezone

from khutwa.documents import services
from khutwa.documents.signing import cache_clear
from tests.licensing.factories import World


@pytest.fixture(autouse=True)
def _keys(tmp_path_factory, settings, monkeypatch):
    """A key store of the test's own (Ed25519 key, platform CA, signing certificate)."""
    key_dir = tmp_path_factory.getbasetemp() / "khutwa-test-keys"
    settings.KHUTWA_KEY_DIR = key_dir
    monkeypatch.setenv("KHUTWA_KEY_PASSPHRASE", "test-passphrase")
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def licence(world):
    return world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")


def yesterday() -> dt.date:
    """The Bahraini day before today: a licence issued then is valid for documents issued a few
    hours ago, which between midnight and 03:00 in Bahrain were issued on the previous day."""
    return timezone.localdate() - dt.timedelta(days=1)


@pytest.fixture
def licence_since_yesterday(world):
    return world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard", today=yesterday())


@pytest.fixture
def holder(world, licence):
    return world.applicant


@pytest.fixture
def customer(holder):
    return services.customer_create(
        actor=holder,
        kind="individual",
        cpr="870303003",
        name_ar="يوسف إبراهيم",
        name_en="Yousif Ebrahim",
        address="Block 905, Riffa",
        is_tamkeen_customer=True,
    )


def line(**kw):
    data = {
        "activity": "home-meals",
        "description": "Catering for 20 guests",
        "quantity": "2",
        "unit": "piece",
        "unit_price": "5.500",
    }
    data.update(kw)
    return services.LineInput(**data)


@pytest.fixture
def issue(holder, customer):
    def _issue(type_="invoice", **kw):
        kw.setdefault("customer", customer.pk)
        if type_ in ("quotation", "invoice", "credit_note", "delivery_note"):
            kw.setdefault("lines", [line()])
        if type_ == "quotation":
            kw.setdefault("valid_until", timezone.localdate() + dt.timedelta(days=30))
        return services.document_issue(actor=holder, data=services.DocumentInput(type=type_, **kw)).document

    return _issue


def add_customers(owner, count, start=0):  # type: ignore[no-untyped-def]
    """`count` entries in `owner`'s customer book, "Client 000" / "عميل 000" onwards: odd numbers
    individuals (CPR 900000000 + n), even ones businesses (CR "CR-n")."""
    from khutwa.documents.models import Customer

    Customer.objects.bulk_create(
        Customer(
            owner=owner,
            kind="individual" if n % 2 else "business",
            cpr=f"{900000000 + n}" if n % 2 else "",
            cr_number="" if n % 2 else f"CR-{n}",
            name_ar=f"عميل {n:03d}",
            name_en=f"Client {n:03d}",
        )
        for n in range(start, start + count)
    )
