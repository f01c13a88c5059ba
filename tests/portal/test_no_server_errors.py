"""Generated form bodies and queries sent to the main pages as a user allowed to use them:
never a 5xx, and a page that refuses (a form error, 400/404/429) changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.api.test_no_server_errors import Scene
from tests.fuzzing import FUZZ, NASTY, mutated, snapshot

pytestmark = pytest.mark.django_db

TEXT_NASTY = [v for v in NASTY if isinstance(v, str)] + [str(10**30), "-1", "0", "1"]
form_value = st.one_of(st.sampled_from(TEXT_NASTY), st.text(max_size=20), st.integers().map(str))


@pytest.fixture
def scene(db):
    return Scene()


def forms(s: Scene) -> list[tuple[str, Any, dict[str, str]]]:
    """(path, user, a valid form body) of the main forms."""
    today = timezone.localdate()
    return [
        (
            "/en/documents/new/",
            s.holder,
            {
                "type": "invoice",
                "customer": str(s.customer.pk),
                "line_count": "1",
                "lines-0-activity": "home-meals",
                "lines-0-description": "Lunch",
                "lines-0-quantity": "2",
                "lines-0-unit": "piece",
                "lines-0-unit_price": "5.500",
                "lines-0-discount": "0",
                "due_date": str(today + dt.timedelta(days=5)),
                "quotation": "",
            },
        ),
        (
            "/en/documents/new/",
            s.holder,
            {
                "type": "receipt",
                "customer": str(s.customer.pk),
                "payment_method": "cash",
                "payment_amount": "1.000",
                "alloc-0-invoice": str(s.invoice.public_id),
                "alloc-0-amount": "1.000",
            },
        ),
        (
            "/en/documents/new/",
            s.holder,
            {
                "type": "quotation",
                "customer": str(s.customer.pk),
                "line_count": "1",
                "lines-0-activity": "home-meals",
                "lines-0-description": "Lunch",
                "lines-0-quantity": "2",
                "lines-0-unit_price": "5.500",
                "valid_until": str(today + dt.timedelta(days=5)),
            },
        ),
        (
            "/en/documents/new/totals/",
            s.holder,
            {
                "line_count": "1",
                "lines-0-quantity": "2",
                "lines-0-unit_price": "1",
                "lines-0-description": "x",
            },
        ),
        (
            "/en/documents/statement/",
            s.holder,
            {"customer": str(s.customer.pk), "from": str(today.replace(day=1)), "to": str(today)},
        ),
        ("/en/customers/new/", s.holder, {"kind": "individual", "cpr": "900101001", "name_en": "Ali"}),
        (f"/en/customers/{s.customer.pk}/", s.holder, {"name_en": "Yousif", "vat_number": ""}),
        (
            "/en/applications/new/",
            s.newcomer,
            {
                "name_ar": "زينب",
                "name_en": "Zainab",
                "phone": "33445566",
                "building": "1",
                "road": "2",
                "block": "905",
                "area": "Riffa",
                "governorate": "southern",
                "trade_name": "Zainab",
                "tier": "standard",
                "activities": "home-meals",
            },
        ),
        (f"/en/applications/{s.in_review.pk}/return/", s.registrar, {"items": "ID copy"}),
        (
            f"/en/applications/{s.in_review.pk}/add_body/",
            s.registrar,
            {"body": "civil-defence", "reason": "x"},
        ),
        (f"/en/applications/{s.in_review.pk}/answers/1/", s.reviewed, {"answer": "x"}),
        (
            f"/en/reviews/{s.review.pk}/decide/",
            s.reviewer,
            {"decision": "request_info", "reason": "x", "conditions": ""},
        ),
        (
            f"/en/reviews/{s.review.pk}/inspection/",
            s.reviewer,
            {"scheduled_for": str(today), "inspector": str(s.reviewer.pk)},
        ),
        (f"/en/reviews/{s.review.pk}/outcome/", s.reviewer, {"inspection": "1", "outcome": "passed"}),
        (f"/en/licence/{s.licence.number}/vat/", s.registrar, {"vat_number": "200000000000003"}),
        (f"/en/licence/{s.licence.number}/suspend/", s.registrar, {"reason": "x"}),
        (
            "/en/support/apply/",
            s.claimant,
            {"programme": "bdsupport", "quotation": str(s.quotation.public_id), "submit": "1"},
        ),
        ("/en/support/iban/", s.claimant, {"iban": "BH67BMAG00001299123456"}),
        ("/en/support/enterprise/", s.claimant, {"cr_number": "145678-1", "name_en": "Shop"}),
        ("/en/support/finance/", s.finance, {"claims": "1"}),
        ("/en/track/", None, {"reference": s.draft.reference, "cpr_last4": s.draft.cpr[-4:]}),
    ]


def queries(s: Scene) -> list[tuple[str, Any, dict[str, str]]]:
    return [
        (
            "/en/documents/",
            s.holder,
            {"customer": str(s.customer.pk), "from": "2026-01-01", "to": "", "page": "1"},
        ),
        ("/en/documents/new/line/", s.holder, {"index": "3"}),
        ("/en/documents/new/", s.holder, {"type": "quotation"}),
        ("/en/registrar/", s.registrar, {"q": "APP-2026-000001", "status": "draft", "page": "2"}),
        ("/en/registrar/licences/", s.registrar, {"q": "KH-2026-000001", "page": "1"}),
        ("/en/reviews/", s.reviewer, {"status": "open", "overdue": "1", "page": "1"}),
        ("/en/support/queue/", s.officer, {"status": "submitted", "programme": "x"}),
        ("/en/support/apply/", s.claimant, {"programme": "bdsupport", "quotation": ""}),
    ]


def _stringify(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {"x": str(body)}
    return {
        str(k): [str(i) for i in v] if isinstance(v, list) else ("" if v is None else str(v))
        for k, v in body.items()
    }


@given(data=st.data())
@FUZZ
def test_generated_form_bodies_never_give_a_server_error(client, scene, data):
    path, user, base = data.draw(st.sampled_from(forms(scene)))
    body = _stringify(data.draw(mutated(base)))
    if user is not None:
        client.force_login(user)
    before = snapshot()
    response = client.post(path, body)
    assert response.status_code < 500, (path, body)
    if response.status_code in (400, 404, 429):
        assert snapshot() == before, (path, body, response.status_code)


@given(data=st.data())
@FUZZ
def test_generated_queries_never_give_a_server_error(client, scene, data):
    path, user, base = data.draw(st.sampled_from(queries(scene)))
    params = {k: data.draw(form_value) if data.draw(st.booleans()) else v for k, v in base.items()}
    client.force_login(user)
    response = client.get(path, params)
    assert response.status_code < 500, (path, params)


@pytest.mark.parametrize("bad", ["²", "١٢", "1" * 30, "9223372036854775808", "0"])
def test_ids_in_page_addresses_out_of_range_or_not_ascii_are_404(client, scene, bad):
    client.force_login(scene.registrar)
    for path in (
        f"/en/applications/{bad}/",
        f"/en/reviews/{bad}/",
        f"/en/customers/{bad}/",
        f"/en/support/claims/{bad}/",
        f"/en/support/batches/{bad}/",
    ):
        assert client.get(path).status_code == 404, path


# Each id, count and date a page reads from a form or a query, with the values that used to
# give a 500 (a superscript digit passes str.isdigit() but not int(); 10^30 overflows the
# column; 10^20 × 10^20 overflows the decimal context) or were silently dropped.
ID_FIELDS = [
    ("get", "/en/documents/", "holder", {}, "customer"),
    ("get", "/en/documents/new/line/", "holder", {}, "index"),
    ("post", "/en/documents/new/totals/", "holder", {"lines-0-quantity": "1"}, "line_count"),
    ("post", "/en/documents/new/", "invoice", {}, "customer"),
    ("post", "/en/documents/new/", "invoice", {}, "line_count"),
    ("post", "/en/documents/statement/", "statement", {}, "customer"),
    ("post", "/en/support/finance/", "finance", {}, "claims"),
    ("post", "review-outcome", "reviewer", {"outcome": "passed"}, "inspection"),
]


def _base(scene: Scene, who: str) -> tuple[Any, dict[str, str]]:
    today = timezone.localdate()
    if who == "invoice":
        return scene.holder, {
            "type": "invoice",
            "customer": str(scene.customer.pk),
            "line_count": "1",
            "lines-0-activity": "home-meals",
            "lines-0-description": "Lunch",
            "lines-0-quantity": "2",
            "lines-0-unit": "piece",
            "lines-0-unit_price": "5.500",
            "lines-0-discount": "0",
        }
    if who == "statement":
        return scene.holder, {
            "customer": str(scene.customer.pk),
            "from": str(today.replace(day=1)),
            "to": str(today),
        }
    return getattr(scene, who), {}


@pytest.mark.parametrize("bad", ["²", "١٢", "1" * 30, "9223372036854775808", "-1"])
@pytest.mark.parametrize(("method", "path", "who", "extra", "field"), ID_FIELDS)
def test_ids_and_counts_in_forms_and_queries_are_never_a_server_error(
    client, scene, method, path, who, extra, field, bad
):
    user, base = _base(scene, who)
    if path == "review-outcome":
        path = f"/en/reviews/{scene.review.pk}/outcome/"
    client.force_login(user)
    before = snapshot()
    response = getattr(client, method)(path, {**base, **extra, field: bad})
    assert response.status_code < 500, (path, field, bad)
    if method == "post":
        assert snapshot() == before, (path, field, bad, response.status_code)


@pytest.mark.parametrize("bad", ["0001-01-01", "1899-12-31", "10000-01-01", "2026-02-30", "²٠٢٦-01-01"])
@pytest.mark.parametrize(
    ("who", "field"), [("invoice", "due_date"), ("statement", "from"), ("statement", "to")]
)
def test_a_date_the_platform_does_not_keep_is_a_form_error_not_dropped(client, scene, who, field, bad):
    user, base = _base(scene, who)
    path = "/en/documents/new/" if who == "invoice" else "/en/documents/statement/"
    client.force_login(user)
    before = snapshot()
    response = client.post(path, {**base, field: bad})
    assert response.status_code == 400, (field, bad)
    assert "Enter a valid date between 1900-01-01 and 9999-12-31." in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["100000000000000000000", "1" * 30, "NaN", "Infinity", "-0", "1e20", "٣"])
def test_huge_or_non_numeric_amounts_in_the_document_form_are_form_errors(client, scene, bad):
    user, base = _base(scene, "invoice")
    client.force_login(user)
    before = snapshot()
    for field in ("lines-0-quantity", "lines-0-unit_price"):
        response = client.post(
            "/en/documents/new/", {**base, "lines-0-quantity": bad, "lines-0-unit_price": bad}
        )
        assert response.status_code == 400, (field, bad)
        response = client.post("/en/documents/new/totals/", {**base, field: bad})
        assert response.status_code == 200, (field, bad)
    assert snapshot() == before


def test_a_document_form_with_more_rows_than_a_document_holds_says_the_limit(client, scene):
    user, base = _base(scene, "invoice")
    client.force_login(user)
    fields = (("activity", "home-meals"), ("description", "x"), ("quantity", "1"), ("unit_price", "1"))
    rows = {f"lines-{i}-{k}": v for i in range(101) for k, v in fields}
    before = snapshot()
    for count in ("101", str(10**6)):
        response = client.post("/en/documents/new/", {**base, **rows, "line_count": count})
        assert response.status_code == 400
        assert "A document of this type has at most 100 lines" in response.content.decode()
    assert client.post("/en/documents/new/", {**base, **rows, "line_count": str(10**30)}).status_code == 400
    assert snapshot() == before
