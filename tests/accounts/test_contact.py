"""Changing one's e-mail address or mobile number: the current password asked, what changes
confirmed again, the former address told; bad input named and nothing changed (page and API)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from khutwa import sms
from khutwa.accounts.models import User
from khutwa.audit.models import AuditEvent
from tests.api.test_licensing_api import auth
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db

PASSWORD = "x-pass-123"
URL = "/api/v1/me/contact"


@pytest.fixture
def person() -> User:
    user = applicant()
    user.email, user.phone = "amal@example.bh", "+97336001234"
    user.email_confirmed_at = user.phone_confirmed_at = timezone.now()
    user.save()
    return user


def _unchanged(person: User) -> None:
    fresh = User.objects.get(pk=person.pk)
    assert (fresh.email, fresh.phone) == ("amal@example.bh", "+97336001234")
    assert fresh.email_confirmed_at and fresh.phone_confirmed_at
    assert not AuditEvent.objects.filter(action="accounts.user.contact_change").exists()
    assert not mail.outbox and not sms.outbox


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_page_shows_the_details_and_the_form(client, person, language):
    client.force_login(person)
    page = client.get(f"/{language}/account/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="account-email">amal@example.bh<' in html and "+97336001234" in html
    assert 'name="password"' in html and 'autocomplete="current-password"' in html
    # The header's name leads here.
    assert f'href="/{language}/account/"' in client.get(f"/{language}/").content.decode()


def test_the_page_needs_a_login(client):
    response = client.get("/en/account/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_new_email_is_confirmed_again_and_the_former_address_is_told(
    client, person, django_capture_on_commit_callbacks, run_tasks
):
    client.force_login(person)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/en/account/", {"email": "Amal.New@Example.BH", "phone": "3600 1234", "password": PASSWORD}
        )
    run_tasks()
    assert response.status_code == 302 and response["Location"] == "/en/account/confirm/"
    fresh = User.objects.get(pk=person.pk)
    assert fresh.email == "Amal.New@example.bh" and fresh.email_confirmed_at is None
    assert fresh.phone_confirmed_at is not None  # the same number, typed differently
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == ["Amal.New@example.bh", "amal@example.bh"]
    notice = next(m for m in mail.outbox if m.to == ["amal@example.bh"])
    assert "were changed" in notice.body and "Amal.New" not in notice.body
    assert not sms.outbox
    event = AuditEvent.objects.get(action="accounts.user.contact_change")
    assert event.after == {"changed": ["email"]}


def test_a_new_mobile_gets_a_code(client, person, django_capture_on_commit_callbacks, run_tasks):
    client.force_login(person)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/account/", {"email": "amal@example.bh", "phone": "٦٦٠٠٩٩٩٩", "password": PASSWORD})
    run_tasks()
    fresh = User.objects.get(pk=person.pk)
    assert fresh.phone == "+97366009999" and fresh.phone_confirmed_at is None
    assert fresh.email_confirmed_at is not None
    assert [text.to for text in sms.outbox] == ["+97366009999"]
    assert [message.to for message in mail.outbox] == [["amal@example.bh"]]  # the notice


def test_nothing_changed_says_so(client, person):
    client.force_login(person)
    response = client.post(
        "/en/account/",
        {"email": "amal@example.bh", "phone": "+97336001234", "password": PASSWORD},
        follow=True,
    )
    assert "Nothing was changed." in response.content.decode()
    _unchanged(person)


@pytest.mark.parametrize(
    ("language", "changes", "field", "message"),
    [
        ("en", {"password": "wrong"}, "password", "The password is not right."),
        ("ar", {"password": "wrong"}, "password", "كلمة المرور غير صحيحة."),
        ("en", {"email": "not-an-address"}, "email", "valid email"),
        ("en", {"email": "taken@example.bh"}, "email", "already uses this e-mail"),
        ("en", {"phone": "1700 1234"}, "phone", "Bahraini mobile"),
        ("en", {"password": ""}, "password", "This field is required."),
    ],
)
def test_bad_input_is_named_beside_its_field_and_changes_nothing(
    client, person, language, changes, field, message
):
    User.objects.create_user(username="other", email="Taken@example.bh", password="y-pass-456")
    client.force_login(person)
    data = {"email": "amal.new@example.bh", "phone": "66009999", "password": PASSWORD, **changes}
    response = client.post(f"/{language}/account/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    html = response.content.decode()
    assert 'id="error-summary"' in html and f'href="#id_{field}"' in html
    _unchanged(person)


# API ----------------------------------------------------------------------------------------


def test_api_get_and_put(client, person, django_capture_on_commit_callbacks):
    headers = auth(person)
    assert client.get(URL, **headers).json() == {
        "email": "amal@example.bh",
        "email_confirmed": True,
        "phone": "+97336001234",
        "phone_confirmed": True,
    }
    with django_capture_on_commit_callbacks(execute=True):
        put = client.put(
            URL, {"password": PASSWORD, "phone": "6600 9999"}, content_type="application/json", **headers
        )
    assert put.status_code == 200
    assert put.json() == {
        "email": "amal@example.bh",
        "email_confirmed": True,
        "phone": "+97366009999",
        "phone_confirmed": False,
    }


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"password": "wrong", "email": "amal.new@example.bh"}, 403, "password"),
        ({"password": PASSWORD, "email": "nope"}, 422, "email"),
        ({"password": PASSWORD, "email": "taken@example.bh"}, 422, "email"),
        ({"password": PASSWORD, "phone": "123"}, 422, "phone"),
        ({"email": "amal.new@example.bh"}, 422, "password"),
    ],
)
def test_api_bad_input_is_named_in_the_request_language_and_changes_nothing(
    client, person, language, body, status, field
):
    User.objects.create_user(username="other", email="taken@example.bh", password="y-pass-456")
    response = client.put(
        URL, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language, **auth(person)
    )
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Content-Language"] == language
    problem = response.json()
    assert (
        field in [e["field"] for e in problem["errors"]]
        or problem.get("field") == field
        or field in str(problem)
    )
    _unchanged(person)


def test_api_needs_a_caller(client, person):
    assert client.get(URL).status_code == 401
    assert client.put(URL, {"password": PASSWORD}, content_type="application/json").status_code == 401
    _unchanged(person)
