import pytest
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.licensing.models import Application
from tests.licensing.factories import World, applicant, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def auth(user):
    from khutwa.accounts.models import ApiToken

    raw = ApiToken.new_raw()
    from datetime import timedelta

    from django.utils import timezone

    ApiToken.objects.create(
        user=user, key_hash=ApiToken.hash(raw), prefix=raw[:8], expires_at=timezone.now() + timedelta(hours=1)
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def body(**overrides):
    data = {
        "applicant": {
            "cpr": "",
            "name_ar": "زينب",
            "name_en": "Zainab",
            "phone": "33445566",
            "email": "z@x.bh",
        },
        "address": {
            "flat": "",
            "building": "12",
            "road": "34",
            "block": "905",
            "area": "Riffa",
            "governorate": "southern",
        },
        "trade_name": "Zainab Sews",
        "activities": ["sewing-abayas", "home-meals"],
        "tier": "standard",
    }
    data.update(overrides)
    return data


def test_the_whole_journey_through_the_api(client, world):
    me = auth(world.applicant)
    created = client.post("/api/v1/applications", body(), content_type="application/json", **me)
    assert created.status_code == 201, created.content
    app = created.json()
    assert app["status"] == "draft" and app["reference"].startswith("APP-")
    assert app["applicant"]["cpr"] == world.applicant.cpr
    submitted = client.post(f"/api/v1/applications/{app['id']}/submit", **me).json()
    assert submitted["status"] == "submitted"
    reg = auth(world.registrar)
    assert client.post(f"/api/v1/applications/{app['id']}/screening", **reg).json()["status"] == "screening"
    in_review = client.post(f"/api/v1/applications/{app['id']}/accept", **reg).json()
    assert in_review["status"] == "in_review"
    assert {r["body"] for r in in_review["reviews"]} == {"municipality", "civil-defence", "food-control"}
    assert all(r["due_date"] and r["decision"] is None for r in in_review["reviews"])
    for code, reviewer in world.reviewers.items():
        token = auth(reviewer)
        queue = client.get("/api/v1/reviews", **token).json()
        assert queue["count"] == 1 and queue["items"][0]["body"] == code
        review_id = queue["items"][0]["id"]
        detail = client.get(f"/api/v1/reviews/{review_id}", **token).json()
        if code != "municipality":  # civil defence and food control inspect homes for food activities
            refused = client.post(
                f"/api/v1/reviews/{review_id}/decision",
                {"decision": "approve"},
                content_type="application/json",
                **token,
            )
            assert refused.status_code == 409
            assert refused["Content-Type"] == "application/problem+json"
            # Scheduled for the due date, the visit cannot be reported yet (tests/approvals).
            later = client.post(
                f"/api/v1/reviews/{review_id}/inspections",
                {"scheduled_for": str(detail["due_date"]), "inspector": reviewer.username},
                content_type="application/json",
                **token,
            )
            assert later.status_code == 201, later.content
            early = client.post(
                f"/api/v1/reviews/{review_id}/inspections/{later.json()['id']}/outcome",
                {"outcome": "passed", "notes": "fine"},
                content_type="application/json",
                **token,
            )
            assert early.status_code == 409
            scheduled = client.post(
                f"/api/v1/reviews/{review_id}/inspections",
                {"scheduled_for": str(timezone.localdate()), "inspector": reviewer.username},
                content_type="application/json",
                **token,
            )
            assert scheduled.status_code == 201, scheduled.content
            recorded = client.post(
                f"/api/v1/reviews/{review_id}/inspections/{scheduled.json()['id']}/outcome",
                {"outcome": "passed", "notes": "fine"},
                content_type="application/json",
                **token,
            )
            assert recorded.status_code == 200 and recorded.json()["outcome"] == "passed"
        decided = client.post(
            f"/api/v1/reviews/{review_id}/decision",
            {"decision": "approve"},
            content_type="application/json",
            **token,
        )
        assert decided.status_code == 200 and decided.json()["decision"] == "approve"
    assert client.get(f"/api/v1/applications/{app['id']}", **me).json()["status"] == "approved"
    licence = client.post(f"/api/v1/applications/{app['id']}/licence", **reg)
    assert licence.status_code == 201
    number, check_url = licence.json()["number"], licence.json()["check_url"]
    # The public check takes the number with its check code (the certificate's QR code); the bare,
    # sequential number is 404 like an unknown one.
    ref = check_url.rsplit("/", 1)[1]
    assert ref.startswith(f"{number}-") and len(ref) == len(number) + 7
    assert client.get(f"/api/v1/licences/{number}").status_code == 404
    public = client.get(f"/api/v1/licences/{ref.lower()}").json()
    assert public == {
        "number": number,
        "status": "active",
        "trade_name": "Zainab Sews",
        "tier": "standard",
        "activities": ["sewing-abayas", "home-meals"],
        "valid_from": public["valid_from"],
        "valid_until": public["valid_until"],
        "conditions": "",
        "vat_number": "",
        "check_url": check_url,
    }
    assert client.get("/api/v1/me", **me).json()["licence"] == number


def test_bad_input_names_fields_with_their_api_paths(client, world):
    me = auth(world.applicant)
    response = client.post(
        "/api/v1/applications",
        body(
            activities=["astrology"],
            address={
                "flat": "",
                "building": "12",
                "road": "34",
                "block": "905",
                "area": "Riffa",
                "governorate": "atlantis",
            },
        ),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **me,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"activities", "address.governorate"} <= fields
    assert Application.objects.count() == 0
    response = client.post("/api/v1/applications", body(tier="basic"), content_type="application/json", **me)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "activities"


def test_a_duplicate_is_409_naming_the_reference(client, world):
    me = auth(world.applicant)
    first = client.post("/api/v1/applications", body(), content_type="application/json", **me).json()
    again = client.post("/api/v1/applications", body(), content_type="application/json", **me)
    assert again.status_code == 409
    assert first["reference"] in again.json()["detail"]


@pytest.mark.parametrize("who", ["stranger", "other_body_reviewer", "anonymous"])
def test_another_partys_objects_are_404_and_nothing_changes(client, world, who):
    app = world.in_review(activities=["sewing-abayas"])
    review = app.reviews.get(body__code="municipality")
    headers = {}
    if who == "stranger":
        headers = auth(applicant())
    elif who == "other_body_reviewer":
        headers = auth(staff(Role.REVIEWER, "food-control"))
    expected = 401 if who == "anonymous" else 404
    assert client.get(f"/api/v1/applications/{app.pk}", **headers).status_code == expected
    assert client.get(f"/api/v1/reviews/{review.pk}", **headers).status_code == expected
    response = client.post(
        f"/api/v1/reviews/{review.pk}/decision",
        {"decision": "approve"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == expected
    assert client.post(f"/api/v1/applications/{app.pk}/withdraw", **headers).status_code == expected
    review.refresh_from_db()
    app.refresh_from_db()
    assert review.status == "pending" and app.status == "in_review"


def test_illegal_transition_is_409_and_only_the_registrar_suspends(client, world):
    licence = world.licensed()
    holder = auth(world.applicant)
    response = client.post(
        f"/api/v1/licences/{licence.number}/suspend",
        {"reason": "x"},
        content_type="application/json",
        **holder,
    )
    assert response.status_code == 403
    reg = auth(world.registrar)
    ok = client.post(
        f"/api/v1/licences/{licence.number}/suspend",
        {"reason": "Complaint"},
        content_type="application/json",
        **reg,
    )
    assert ok.json()["status"] == "suspended"
    again = client.post(
        f"/api/v1/licences/{licence.number}/suspend",
        {"reason": "Again"},
        content_type="application/json",
        **reg,
    )
    assert again.status_code == 409


def test_public_tracking_api_returns_the_timeline_only(client, world):
    app = world.submitted()

    def track(cpr_last4):
        body = {"reference": app.reference, "cpr_last4": cpr_last4}
        return client.post("/api/v1/applications/track", body, content_type="application/json")

    response = track(app.cpr[-4:])
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"reference", "status", "timeline"}
    assert data["status"] == "submitted"
    assert track("0000").status_code == 404


def test_review_queue_query_count_does_not_grow(client, world, django_assert_max_num_queries):
    for _ in range(5):
        world.in_review(user=applicant())
    token = auth(world.reviewers["municipality"])
    with django_assert_max_num_queries(6):
        data = client.get("/api/v1/reviews", **token).json()
    assert data["count"] == 5
