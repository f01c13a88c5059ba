"""Generated bodies posted to every write operation of the API as a caller allowed to make it:
never a 5xx, and a refusal (4xx) creates, numbers and audits nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.approvals.models import Review
from khutwa.catalogue.models import ActivityCategory, LicenceTier
from khutwa.documents import services as docs
from khutwa.support.models import Programme, ProgrammeCap
from tests.api.test_licensing_api import auth
from tests.api.test_licensing_api import body as application_body
from tests.documents.conftest import line
from tests.fuzzing import FUZZ, NASTY, mutated, snapshot
from tests.licensing.factories import World, applicant, staff

pytestmark = pytest.mark.django_db


class Scene:
    """Every role, with something of theirs to act on."""

    def __init__(self) -> None:
        today = timezone.localdate()
        self.world = world = World()
        self.licence = world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
        self.holder = world.applicant
        self.registrar = world.registrar
        self.customer = docs.customer_create(
            actor=self.holder, kind="individual", cpr="870303003", name_en="Yousif", is_tamkeen_customer=True
        )
        self.quotation = docs.document_issue(
            actor=self.holder,
            data=docs.DocumentInput(
                type="quotation",
                customer=self.customer.pk,
                valid_until=today + dt.timedelta(days=30),
                lines=[line(quantity="10", unit_price="40")],
            ),
        ).document
        self.invoice = docs.document_issue(
            actor=self.holder,
            data=docs.DocumentInput(type="invoice", customer=self.customer.pk, lines=[line()]),
        ).document
        self.other = applicant()
        self.draft = world.draft(user=self.other)
        self.reviewed = applicant()
        self.in_review = world.in_review(user=self.reviewed, activities=["home-meals"])
        self.newcomer = applicant()
        self.review = Review.objects.filter(application=self.in_review, body__code="food-control").get()
        self.reviewer = world.reviewers["food-control"]
        self.claimant = applicant(cpr="870303003", username="yousif")
        user_set_roles(user=self.claimant, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
        self.officer = staff(Role.TAMKEEN_OFFICER)
        self.finance = staff(Role.TAMKEEN_FINANCE)
        self.programme = Programme.objects.create(
            code="bdsupport",
            name_ar="دعم",
            name_en="Support",
            kind="equipment",
            open_from=today - dt.timedelta(days=30),
            budget=Decimal("10000.000"),
            rate=Decimal("0.500"),
            frequency_months=12,
            beneficiaries="both",
        )
        ProgrammeCap.objects.create(
            programme=self.programme, tier=LicenceTier.objects.get(code="standard"), cap=Decimal("2500.000")
        )
        self.programme.eligible_categories.set(ActivityCategory.objects.filter(code__in=["food", "textiles"]))


@pytest.fixture
def scene(db):
    return Scene()


def _line() -> dict[str, str]:
    return {
        "activity": "home-meals",
        "description": "Lunch",
        "quantity": "2",
        "unit": "piece",
        "unit_price": "5.500",
        "discount": "0",
        "vat_category": "",
        "item_code": "",
        "brand": "",
    }


def operations(s: Scene) -> list[tuple[str, str, Any, Any]]:
    """(method, path, caller, a valid body) for every write operation."""
    today = timezone.localdate()
    number = s.licence.number
    return [
        ("POST", "/api/v1/applications", s.newcomer, application_body()),
        ("PUT", f"/api/v1/applications/{s.draft.pk}", s.other, application_body()),
        ("POST", f"/api/v1/applications/{s.in_review.pk}/return", s.registrar, {"items": "ID copy"}),
        ("POST", f"/api/v1/applications/{s.in_review.pk}/appeal", s.reviewed, {"reason": "x"}),
        (
            "POST",
            f"/api/v1/applications/{s.in_review.pk}/bodies",
            s.registrar,
            {"body": "civil-defence", "reason": "x"},
        ),
        (
            "POST",
            f"/api/v1/applications/{s.in_review.pk}/answers",
            s.reviewed,
            {"request": 1, "answer": "here"},
        ),
        (
            "POST",
            f"/api/v1/reviews/{s.review.pk}/decision",
            s.reviewer,
            {"decision": "request_info", "reason": "why", "conditions": ""},
        ),
        (
            "POST",
            f"/api/v1/reviews/{s.review.pk}/inspections",
            s.reviewer,
            {"scheduled_for": str(today), "inspector": s.reviewer.username},
        ),
        ("POST", f"/api/v1/licences/{number}/suspend", s.registrar, {"reason": "x"}),
        ("POST", f"/api/v1/licences/{number}/vat", s.registrar, {"vat_number": "200000000000003"}),
        (
            "POST",
            f"/api/v1/licences/{number}/amend",
            s.holder,
            {"activities": ["home-meals"], "tier": "standard", "trade_name": "New"},
        ),
        (
            "POST",
            "/api/v1/customers",
            s.holder,
            {"kind": "business", "cr_number": "145678-1", "name_en": "Shop", "vat_number": ""},
        ),
        ("PATCH", f"/api/v1/customers/{s.customer.pk}", s.holder, {"name_en": "Yousif E.", "phone": "3344"}),
        (
            "POST",
            "/api/v1/documents",
            s.holder,
            {
                "type": "invoice",
                "customer": s.customer.pk,
                "lines": [_line()],
                "references": {"quotation": "", "delivery_notes": [], "allocations": []},
                "due_date": str(today + dt.timedelta(days=10)),
            },
        ),
        (
            "POST",
            "/api/v1/documents",
            s.holder,
            {
                "type": "receipt",
                "customer": s.customer.pk,
                "references": {"allocations": [{"invoice": str(s.invoice.public_id), "amount": "1.000"}]},
                "payment": {"method": "cash", "reference": "", "amount": "1.000"},
            },
        ),
        (
            "POST",
            "/api/v1/documents",
            s.holder,
            {
                "type": "quotation",
                "customer": s.customer.pk,
                "lines": [_line()],
                "valid_until": str(today + dt.timedelta(days=10)),
            },
        ),
        (
            "POST",
            "/api/v1/documents/split",
            s.holder,
            {
                "customer": s.customer.pk,
                "lines": [_line()],
                "tamkeen_share": "0.5",
                "tamkeen_application_number": "TMK-2026-000001",
            },
        ),
        (
            "POST",
            "/api/v1/statements",
            s.holder,
            {"customer": s.customer.pk, "from": str(today.replace(day=1)), "to": str(today)},
        ),
        ("POST", f"/api/v1/documents/{s.quotation.public_id}/accept", s.claimant, {}),
        ("POST", "/api/v1/support/eligibility", s.claimant, {"programme": "bdsupport", "quotation": ""}),
        (
            "POST",
            "/api/v1/support/applications",
            s.claimant,
            {"programme": "bdsupport", "quotation": str(s.quotation.public_id)},
        ),
        ("POST", "/api/v1/support/beneficiary", s.claimant, {"iban": "BH67BMAG00001299123456"}),
        ("PUT", "/api/v1/support/enterprise", s.claimant, {"cr_number": "145678-1", "name_en": "Shop"}),
        (
            "POST",
            "/api/v1/support/claims",
            s.claimant,
            {"application": 1, "documents": [str(s.invoice.public_id)]},
        ),
        ("POST", "/api/v1/support/payout-batches", s.finance, {"claims": [1], "execution_date": str(today)}),
        ("POST", "/api/v1/auth/token", None, {"username": "reg", "password": "x"}),
        (
            "POST",
            "/api/v1/webhooks/subscriptions",
            s.holder,
            {"organisation": "ERP", "url": "http://127.0.0.1:9/hooks", "event_types": ["document.issued"]},
        ),
    ]


def _send(client: Any, method: str, path: str, caller: Any, body: Any, raw: str | None = None) -> Any:
    headers = auth(caller) if caller is not None else {}
    data = raw if raw is not None else json.dumps(body)
    return client.generic(method, path, data, content_type="application/json", **headers)


def _check(client: Any, method: str, path: str, caller: Any, body: Any, raw: str | None = None) -> None:
    before = snapshot()
    response = _send(client, method, path, caller, body, raw)
    assert response.status_code < 500, (method, path, body, response.content[:500])
    if 400 <= response.status_code < 500:
        assert response["Content-Type"].startswith("application/problem+json"), response.content[:200]
        after = snapshot()
        # Tokens are not numbered documents; an API token for the caller is made by auth().
        assert {k: v for k, v in after.items()} == before, (method, path, body, response.status_code)


@given(data=st.data())
@FUZZ
def test_generated_bodies_never_give_a_server_error(client, scene, data):
    method, path, caller, base = data.draw(st.sampled_from(operations(scene)))
    body = data.draw(mutated(base))
    _check(client, method, path, caller, body)


@given(data=st.data(), token=st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "1" * 40]))
@FUZZ
def test_non_json_numbers_are_a_4xx(client, scene, data, token):
    """Amounts and ids written as JSON's forbidden numbers (NaN, Infinity) or huge literals."""
    method, path, caller, base = data.draw(st.sampled_from(operations(scene)))
    field = data.draw(st.sampled_from(sorted(base) or ["x"]))
    raw = json.dumps({**base, field: "@@"}).replace('"@@"', token)
    _check(client, method, path, caller, base, raw)


@pytest.mark.parametrize("bad", ["²", "١٢", "1" * 30, "0", "-1", "9223372036854775808", "1e3"])
def test_path_ids_out_of_range_or_not_ascii_are_4xx(client, scene, bad):
    for method, path, caller, base in operations(scene):
        for pk in {
            str(scene.draft.pk),
            str(scene.in_review.pk),
            str(scene.review.pk),
            str(scene.customer.pk),
        }:
            if f"/{pk}/" in path or path.endswith(f"/{pk}"):
                _check(client, method, path.replace(f"/{pk}", f"/{bad}", 1), caller, base)
    for path in ("/api/v1/applications/", "/api/v1/reviews/", "/api/v1/support/claims/"):
        response = client.get(path + bad, **auth(scene.registrar))
        assert 400 <= response.status_code < 500, (path, bad, response.status_code)


BAD_AMOUNTS = [
    *(v for v in NASTY if not isinstance(v, str) or v in ("NaN", "nan", "Infinity", "-Infinity")),
    "1e20",
    "1E+20",
    "100000000000000000000",
    "1" * 30,
    "-0",
    "0",
    "0.0001",
    "1.2345",
    "99999999999.999",
    "²",
    "١٢٣",
    "۱۲۳۴",
    "１２３",
    "",
    " ",
    "\x00",
]


def test_a_document_of_nasty_amounts_is_refused_naming_the_field(client, scene):
    for bad in BAD_AMOUNTS:
        body = {"type": "invoice", "customer": scene.customer.pk, "lines": [{**_line(), "quantity": bad}]}
        before = snapshot()
        response = _send(client, "POST", "/api/v1/documents", scene.holder, body)
        assert response.status_code == 422, (bad, response.content)
        assert response.json()["errors"][0]["field"].startswith("lines[0].quantity"), (bad, response.json())
        assert snapshot() == before


@pytest.mark.parametrize("bad", ["0001-01-01", "1899-12-31"])
def test_a_date_before_1900_is_refused_naming_the_field(client, scene, bad):
    today = timezone.localdate()
    before = snapshot()
    body = {"customer": scene.customer.pk, "from": bad, "to": str(today)}
    response = _send(client, "POST", "/api/v1/statements", scene.holder, body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "from"
    listed = client.get("/api/v1/documents", {"from": bad}, **auth(scene.holder))
    assert listed.status_code == 422
    assert listed.json()["errors"][0]["field"] == "from"
    assert snapshot() == before


@pytest.mark.parametrize("type_", ["invoice", "quotation", "delivery_note"])
def test_lines_are_bounded_by_the_documents_type(client, scene, type_):
    from khutwa.documents.services import MAX_LINES_BY_TYPE

    limit = MAX_LINES_BY_TYPE[type_]
    today = timezone.localdate()
    body = {"type": type_, "customer": scene.customer.pk, "lines": [_line()] * (limit + 1)}
    if type_ == "quotation":
        body["valid_until"] = str(today + dt.timedelta(days=5))
    before = snapshot()
    response = _send(client, "POST", "/api/v1/documents", scene.holder, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines"
    assert str(limit) in response.json()["errors"][0]["message"]
    assert snapshot() == before
