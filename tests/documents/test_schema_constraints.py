"""The OpenAPI document states what the customers' and documents' operations enforce (patterns,
enums, minimums: `api.schemas.enforced`), so that clients and the fuzzer send what they take; and
each stated constraint is one the operation enforces (a value outside it is a 422 naming the
field, with the service's own message), never a promise the service does not keep."""

import re

import pytest

from khutwa.api import schemas
from tests.api.test_licensing_api import auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def components(client):
    return client.get("/api/v1/openapi.json").json()["components"]["schemas"]


def test_the_openapi_states_the_patterns_and_enums(components):
    customer, line = components["CustomerIn"]["properties"], components["LineIn"]["properties"]
    assert customer["cpr"]["pattern"] == schemas.CPR
    assert customer["cr_number"]["pattern"] == schemas.CR_NUMBER
    assert customer["vat_number"]["pattern"] == schemas.VAT_NUMBER
    assert components["CustomerPatch"]["properties"]["vat_number"]["pattern"] == schemas.VAT_NUMBER
    for name in ("quantity", "unit_price", "discount"):
        assert line[name]["pattern"] == schemas.AMOUNT
    assert line["unit"]["enum"] == ["piece", "kg", "hour", "day", "service", "other"]
    assert line["vat_category"]["enum"] == ["", "S", "Z", "E", "O"]
    assert line["description"]["pattern"] == schemas.NOT_BLANK
    assert components["PaymentIn"]["properties"]["method"]["enum"] == [
        "",
        "cash",
        "bank_transfer",
        "benefitpay",
        "cheque",
    ]
    references = components["ReferencesIn"]["properties"]
    assert references["delivery_notes"]["items"]["pattern"] == schemas.PUBLIC_ID
    assert components["AllocationIn"]["properties"]["invoice"]["pattern"] == schemas.PUBLIC_ID
    for name in ("DocumentIn", "StatementIn", "SplitIn"):
        assert components[name]["properties"]["customer"]["minimum"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "individual", "cpr": "12345678a", "name_en": "X"}, "cpr"),
        ({"kind": "business", "cr_number": "12/3", "name_en": "X"}, "cr_number"),
        ({"kind": "individual", "cpr": "850101234", "name_en": "X", "vat_number": "12"}, "vat_number"),
    ],
)
def test_a_customer_outside_the_stated_pattern_is_refused(client, holder, body, field):
    pattern = {"cpr": schemas.CPR, "cr_number": schemas.CR_NUMBER, "vat_number": schemas.VAT_NUMBER}[field]
    assert not re.search(pattern, body[field])
    response = client.post(
        "/api/v1/customers", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **auth(holder)
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"quantity": "1,5"}, "lines[0].quantity"),
        ({"quantity": "-1"}, "lines[0].quantity"),
        ({"unit_price": "1.2345"}, "lines[0].unit_price"),
        ({"discount": "x"}, "lines[0].discount"),
        ({"unit": "litre"}, "lines[0].unit"),
        ({"vat_category": "S"}, "lines[0].vat_category"),  # the holder is not VAT-registered
        ({"description": "   "}, "lines[0].description"),
    ],
)
def test_a_line_outside_the_stated_constraints_is_refused(client, holder, customer, change, field):
    line = {
        "activity": "home-meals",
        "description": "Meals",
        "quantity": "2",
        "unit_price": "5.500",
        **change,
    }
    response = _invoice_with(client, holder, customer, line)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]


def test_values_inside_the_stated_constraints_are_taken(client, holder, customer):
    line = {
        "activity": "home-meals",
        "description": "Meals",
        "quantity": " 2 ",
        "unit_price": "5.5",
        "discount": "0",
        "unit": "kg",
        "vat_category": "",
    }
    response = _invoice_with(client, holder, customer, line)
    assert response.status_code == 201, response.content


def _invoice_with(client, holder, customer, line):
    """POST an invoice of one line through the API, in English."""
    return client.post(
        "/api/v1/documents",
        {"type": "invoice", "customer": customer.pk, "lines": [line]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth(holder),
    )
