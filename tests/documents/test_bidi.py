"""Bidirectional control characters never reach a sealed document or a licence certificate
(issue 10): a right-to-left override in a name would make it display reversed under a valid
signature."""

import json

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from khutwa.approvals.models import Review
from khutwa.catalogue.models import Activity
from khutwa.documents import services
from khutwa.licensing.certificate import certificate_html
from khutwa.text import BIDI_CONTROLS, has_bidi, holds_bidi, strip_bidi, without_bidi
from tests.documents.conftest import line
from tests.licensing.factories import World

RLO, PDF_, LRI, PDI, ALM = "\u202e", "\u202c", "\u2066", "\u2069", "\u061c"
ZWJ, ZWNJ = "\u200d", "\u200c"


@given(st.text())
def test_strip_bidi_removes_the_controls_and_keeps_every_other_character(text):
    cleaned = strip_bidi(text)
    assert not has_bidi(cleaned)
    assert cleaned == "".join(c for c in text if c not in BIDI_CONTROLS)


def test_joiners_arabic_and_spaces_are_kept():
    typed = f"مي{ZWNJ}خواهم {ZWJ}Ali{RLO}ilA{PDF_} {LRI}٣٣{PDI}{ALM}"
    assert strip_bidi(typed) == f"مي{ZWNJ}خواهم {ZWJ}AliilA ٣٣"


def test_without_bidi_reaches_nested_lines_and_keeps_other_values():
    data = services.DocumentInput(
        type="invoice", customer=7, lines=[line(description=f"Cake{RLO}ekaC"), line()], reason=f"a{LRI}b"
    )
    cleaned = without_bidi(data)
    assert cleaned.lines[0].description == "CakeekaC" and cleaned.reason == "ab" and cleaned.customer == 7
    assert data.lines[0].description == f"Cake{RLO}ekaC"  # the input itself is not changed


@pytest.mark.django_db
def test_a_sealed_invoice_carries_no_bidi_controls_from_any_input(holder, issue):
    customer = services.customer_create(
        actor=holder,
        kind="individual",
        cpr="870404004",
        name_ar=f"علي{RLO}ي",
        name_en=f"Ali {RLO}gnoW{PDF_}",
        address=f"Block{LRI} 905{PDI}",
    )
    assert customer.name_en == "Ali gnoW" and customer.address == "Block 905"
    document = issue(
        customer=customer.pk,
        lines=[line(description=f"Catering{RLO}gniretaC", brand=f"Home{ALM}")],
    )
    sealed = json.dumps(document.payload, ensure_ascii=False)
    assert not has_bidi(sealed)
    assert "CateringgniretaC" in sealed and "Ali gnoW" in sealed
    services.customer_update(actor=holder, customer=customer, name_en=f"{RLO}Ali")
    customer.refresh_from_db()
    assert customer.name_en == "Ali"


@pytest.mark.django_db
def test_the_licence_certificate_carries_no_bidi_controls(db):
    world = World()
    app = world.in_review(name_en=f"Fatima {RLO}demhA", trade_name=f"Kitchen{LRI} 1{PDI}")
    assert app.name_en == "Fatima demhA" and app.trade_name == "Kitchen 1"
    review = Review.objects.filter(application=app, status="pending").first()
    world.decide(review, "approve_with_conditions", conditions=f"No {RLO}gas")
    assert Review.objects.get(pk=review.pk).conditions == "No gas"
    world.decide_all(app)
    from khutwa.licensing import services as licensing

    licence = licensing.licence_issue(actor=world.registrar, application=app)
    assert not has_bidi(certificate_html(licence))


@pytest.mark.django_db
def test_catalogue_names_are_cleaned_and_a_name_of_only_controls_is_blank():
    activity = Activity.objects.get(code="home-meals")
    activity.name_en = f"Home {RLO}slaem"
    activity.full_clean()
    assert activity.name_en == "Home slaem"
    activity.name_ar = RLO + PDF_
    with pytest.raises(ValidationError) as refused:
        activity.full_clean()
    assert "name_ar" in refused.value.message_dict


def test_holds_bidi_says_whether_without_bidi_changes_anything():
    clean = services.DocumentInput(type="invoice", customer=7, lines=[line(), line()], reason="ab")
    assert not holds_bidi(clean) and without_bidi(clean) == clean
    for dirty in (
        services.DocumentInput(type="invoice", lines=[line(), line(description=f"Cake{RLO}")]),
        services.DocumentInput(type="invoice", reason=f"a{LRI}b"),
        services.DocumentInput(type="invoice", delivery_notes=[f"x{ALM}"]),
    ):
        assert holds_bidi(dirty) and without_bidi(dirty) != dirty
