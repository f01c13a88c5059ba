import pytest

from khutwa.catalogue.models import Activity

pytestmark = pytest.mark.django_db


def test_activities_list_with_their_bodies(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/catalogue/activities")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Activity.objects.count() == len(body["items"])
    meals = next(item for item in body["items"] if item["code"] == "home-meals")
    assert meals == {
        "code": "home-meals",
        "name_ar": "الوجبات المنزلية",
        "name_en": "Home-cooked meals",
        "category": "food",
        "bodies": ["municipality", "civil-defence", "food-control"],
        "is_food": True,
        "requires_inspection": True,
    }


def test_an_activity_withdrawn_by_the_registrar_disappears(client):
    Activity.objects.filter(code="shoe-repair").update(is_active=False)
    codes = [i["code"] for i in client.get("/api/v1/catalogue/activities").json()["items"]]
    assert "shoe-repair" not in codes


def test_bodies_and_tiers(client):
    bodies = client.get("/api/v1/catalogue/bodies").json()["items"]
    assert [b["code"] for b in bodies] == ["municipality", "civil-defence", "food-control"]
    assert all(b["sla_working_days"] == 10 for b in bodies)
    tiers = client.get("/api/v1/catalogue/tiers").json()["items"]
    assert tiers[0] == {
        "code": "basic",
        "name_ar": "أساسية",
        "name_en": "Basic",
        "max_activities": 1,
        "turnover_ceiling": "10000.000",
        "validity_months": 12,
    }
