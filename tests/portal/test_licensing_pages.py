import pytest

from khutwa.accounts.roles import Role
from khutwa.licensing.models import Application
from tests.licensing.factories import World, applicant, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_applicant_applies_in_the_portal_and_errors_name_fields_in_arabic(client, world):
    client.force_login(world.applicant)
    response = client.post("/ar/applications/new/", {"phone": "12", "activities": ["astrology"]})
    assert response.status_code == 200
    form = response.context["form"]
    assert {"phone", "building", "trade_name", "tier"} <= set(form.errors)
    assert "8" in form.errors["phone"][0] and "digits" not in form.errors["phone"][0]
    assert Application.objects.count() == 0
    response = client.post(
        "/en/applications/new/",
        {
            "name_ar": "زينب",
            "name_en": "Zainab",
            "phone": "33445566",
            "email": "z@example.bh",
            "building": "12",
            "road": "34",
            "block": "905",
            "area": "Riffa",
            "governorate": "southern",
            "trade_name": "Zainab Sews",
            "tier": "basic",
            "activities": ["sewing-abayas"],
        },
    )
    app = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/applications/{app.pk}/"
    assert app.cpr == world.applicant.cpr and app.channel == "online"
    page = client.get(f"/en/applications/{app.pk}/").content.decode()
    assert "Submit the application" in page


def test_upload_only_real_pdfs_and_images_and_serve_them_only_to_those_allowed(
    client, world, tmp_path, settings
):
    settings.KHUTWA_PRIVATE_DIR = tmp_path
    app = world.draft()
    client.force_login(world.applicant)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(
        f"/en/applications/{app.pk}/attachments/",
        {"kind": "ownership", "file": SimpleUploadedFile("x.pdf", b"<script>")},
        follow=True,
    )
    assert "Upload a PDF, PNG or JPEG file." in bad.content.decode()
    assert app.attachments.count() == 0
    client.post(
        f"/en/applications/{app.pk}/attachments/",
        {"kind": "ownership", "file": SimpleUploadedFile("deed.pdf", PDF)},
    )
    attachment = app.attachments.get()
    assert not str(tmp_path).startswith(str(settings.STATIC_ROOT))
    url = f"/en/attachments/{attachment.public_id}/"
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    client.force_login(applicant())
    assert client.get(url).status_code == 404
    client.force_login(world.reviewers["food-control"])  # no review of this application
    assert client.get(url).status_code == 404
    client.force_login(world.registrar)
    assert client.get(url).status_code == 200


def test_another_applicants_application_is_404_and_actions_change_nothing(client, world):
    app = world.draft()
    client.force_login(applicant())
    assert client.get(f"/en/applications/{app.pk}/").status_code == 404
    assert client.post(f"/en/applications/{app.pk}/submit/").status_code == 404
    app.refresh_from_db()
    assert app.status == "draft"


@pytest.mark.parametrize("who", ["anonymous", "applicant", "other_body", "registrar"])
def test_a_review_page_is_only_for_its_body(client, world, who):
    app = world.in_review(activities=["sewing-abayas"])
    review = app.reviews.get(body__code="municipality")
    users = {
        "applicant": world.applicant,
        "other_body": world.reviewers["civil-defence"],
        "registrar": world.registrar,
    }
    if who != "anonymous":
        client.force_login(users[who])
    response = client.get(f"/en/reviews/{review.pk}/")
    assert response.status_code in (302, 404) if who == "anonymous" else response.status_code == 404
    response = client.post(f"/en/reviews/{review.pk}/decide/", {"decision": "approve"})
    review.refresh_from_db()
    assert review.status == "pending"


def test_reviewer_queue_shows_only_their_body_and_searches_arabic_normalised(
    client, world, django_assert_max_num_queries
):
    food = world.in_review(activities=["home-meals"], name_ar="فاطِمَة الأنصاريّة")
    world.in_review(user=applicant(), activities=["sewing-abayas"], name_ar="مريم")
    client.force_login(world.reviewers["food-control"])
    with django_assert_max_num_queries(12):
        page = client.get("/ar/reviews/").content.decode()
    assert food.reference in page
    assert page.count('data-review="') == 1
    # no diacritics, plain alef and ha for ta marbuta, tatweel in the query
    found = client.get("/ar/reviews/", {"q": "فاطمه الانصـاريه"}).content.decode()
    assert food.reference in found
    nothing = client.get("/ar/reviews/", {"q": "مريم"}).content.decode()
    assert 'data-review="' not in nothing


def test_reviewer_decides_in_the_portal(client, world):
    app = world.in_review(activities=["sewing-abayas"])
    review = app.reviews.get(body__code="municipality")
    client.force_login(world.reviewers["municipality"])
    page = client.get(f"/en/reviews/{review.pk}/").content.decode()
    assert app.cpr in page and app.trade_name in page
    response = client.post(f"/en/reviews/{review.pk}/decide/", {"decision": "reject"}, follow=True)
    assert "A rejection needs a reason" in response.content.decode()
    review.refresh_from_db()
    assert review.status == "pending"
    client.post(f"/en/reviews/{review.pk}/decide/", {"decision": "approve"})
    review.refresh_from_db()
    assert review.status == "approved"


def test_registrar_pages_are_for_the_registrar(client, world, django_assert_max_num_queries):
    for _ in range(3):
        world.submitted(user=applicant())
    world.in_review()
    client.force_login(world.reviewers["municipality"])
    assert client.get("/en/registrar/").status_code == 404
    client.force_login(world.registrar)
    with django_assert_max_num_queries(12):
        response = client.get("/en/registrar/")
    assert response.status_code == 200
    for url in (
        "/en/registrar/screening/",
        "/en/registrar/overdue/",
        "/en/registrar/licences/",
        "/ar/registrar/",
        "/en/registrar/?status=in_review&q=APP",
    ):
        assert client.get(url).status_code == 200, url


def test_public_tracking_shows_the_timeline_and_nothing_personal(client, world):
    app = world.submitted()
    response = client.post("/en/track/", {"reference": app.reference, "cpr_last4": app.cpr[-4:]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Submitted" in page
    for personal in (app.cpr, app.name_en, app.name_ar, app.phone, app.trade_name, app.block):
        assert personal not in page
    wrong = client.post("/en/track/", {"reference": app.reference, "cpr_last4": "0000"})
    assert wrong.status_code == 404


def test_public_tracking_is_rate_limited(client, world):
    app = world.submitted()
    for _ in range(10):
        client.post("/en/track/", {"reference": f"APP-2026-{_:06d}", "cpr_last4": "0000"})
    response = client.post("/en/track/", {"reference": app.reference, "cpr_last4": app.cpr[-4:]})
    assert response.status_code == 429


def test_public_licence_check_shows_status_and_nothing_personal(client, world):
    licence = world.licensed()
    response = client.get(f"/licences/{licence.public_ref}", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert licence.number in page
    assert licence.trade_name in page
    assert 'id="licence-status"' in page
    for personal in (licence.cpr, licence.name_en, licence.block, licence.road):
        assert personal not in page
    assert client.get("/en/licences/KH-1999-000001").status_code == 404
    assert client.get("/en/licences/KH-1999-000001-ABCDEF").status_code == 404


def test_the_public_licence_check_needs_the_check_code_and_cannot_be_walked(client, world):
    """Licence numbers are sequential: the public page and API answer only to the number with
    its random check code (printed on the certificate and in its QR code). A bare number, a
    wrong code and an unknown number get the same 404, on the page and in the API."""
    licence = world.licensed()
    assert len(licence.check_code) == 6 and licence.check_code.isalpha()
    wrong = "".join("B" if c != "B" else "C" for c in licence.check_code)
    for address in (
        f"/en/licences/{licence.number}",
        f"/en/licences/{licence.number}-{wrong}",
        f"/en/licences/{licence.number}-{licence.check_code[:5]}",
        f"/en/licences/{licence.number}{licence.check_code}",
        "/en/licences/KH-2026-999999-ABCDEF",
    ):
        assert client.get(address).status_code == 404, address
        assert client.get(address.replace("/en/", "/api/v1/")).status_code == 404, address
    assert client.get(f"/en/licences/{licence.public_ref.lower()}").status_code == 200
    assert client.get(f"/api/v1/licences/{licence.public_ref}").json()["number"] == licence.number
    # Its holder finds the public address on their licence page.
    client.force_login(world.applicant)
    page = client.get(f"/en/licence/{licence.number}/").content.decode()
    assert f"/en/licences/{licence.public_ref}" in page


def test_holder_sees_their_licence_and_history_and_another_user_does_not(client, world):
    licence = world.licensed()
    client.force_login(world.applicant)
    page = client.get(f"/en/licence/{licence.number}/").content.decode()
    assert "Issued" in page
    client.force_login(staff(Role.REVIEWER, "municipality"))
    assert client.get(f"/en/licence/{licence.number}/").status_code == 404
    assert client.get(f"/en/licence/{licence.number}/certificate.pdf").status_code == 404
