"""The application's schema states what `licensing.services.application_input_validate` enforces
(the OpenAPI document, not pydantic: the service's messages stay), and each stated constraint is
one the operation keeps: a value outside it is a 422 naming the field."""

import re

import pytest

from tests.api.test_licensing_api import World, auth, body

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def test_the_openapi_states_the_applications_constraints(client):
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    address, applicant = components["AddressIn"]["properties"], components["ApplicantIn"]["properties"]
    assert address["governorate"]["enum"] == ["capital", "muharraq", "northern", "southern"]
    for name in ("building", "road", "block", "flat"):
        assert "pattern" in address[name], name
    assert re.search(applicant["phone"]["pattern"], "+973 3344 5566")
    assert not re.search(applicant["phone"]["pattern"], "3344556")
    for name in ("name_ar", "name_en"):
        assert applicant[name]["pattern"] == r"\S"
    assert components["LicenceApplicationIn"]["properties"]["trade_name"]["pattern"] == r"\S"


def test_each_operation_is_documented_with_its_own_schemas(client):
    """Two schema classes of one name were one component: POST /applications was documented
    with Tamkeen's application (programme, quotation) and the reviews' decision without
    `conditions`, so clients and the fuzzer sent the other operation's body."""
    from ninja import Schema

    from khutwa.api import licensing, support

    def schema_names(module):
        return {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Schema) and value.__module__ == module.__name__
        }

    assert not schema_names(licensing) & schema_names(support)
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    def body_of(path, method="post"):
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    assert body_of("/api/v1/applications").endswith("/LicenceApplicationIn")
    assert body_of("/api/v1/applications/{application_id}", "put").endswith("/LicenceApplicationIn")
    assert body_of("/api/v1/reviews/{review_id}/decision").endswith("/ReviewDecisionIn")
    assert body_of("/api/v1/support/applications").endswith("/ApplicationIn")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"address": {**body()["address"], "governorate": "atlantis"}}, "address.governorate"),
        ({"address": {**body()["address"], "road": "34 + 5"}}, "address.road"),
        ({"applicant": {**body()["applicant"], "phone": "3344556"}}, "applicant.phone"),
        ({"trade_name": "   "}, "trade_name"),
    ],
)
def test_an_application_outside_the_stated_constraints_is_refused(client, world, change, field):
    response = client.post(
        "/api/v1/applications", body(**change), content_type="application/json", **auth(world.applicant)
    )
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
