"""Preferences: defaults, the user's choice, refusals that change nothing; the API and the page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from khutwa.audit.models import AuditEvent
from khutwa.notifications.models import Preference
from khutwa.notifications.selectors import preference_for
from khutwa.notifications.services import preference_update
from tests.api.test_licensing_api import auth
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/notifications"


@pytest.fixture
def person():  # type: ignore[no-untyped-def]
    return applicant()


def test_defaults_email_on_sms_only_with_a_mobile_arabic(person):
    current = preference_for(person)
    assert (current.by_email, current.by_sms, current.language, current.stored) == (True, False, "ar", False)
    person.phone = "33123456"
    person.save()
    assert preference_for(person).by_sms is True
    person.phone = "17123456"  # a fixed line takes no SMS
    person.save()
    assert preference_for(person).by_sms is False


def test_the_choice_is_stored_and_audited(person):
    person.phone = "33123456"
    person.save()
    preference_update(actor=person, by_email=False, by_sms=True, language="en")
    current = preference_for(person)
    assert (current.by_email, current.by_sms, current.language, current.stored) == (False, True, "en", True)
    event = AuditEvent.objects.get(action="notifications.preference.update")
    assert event.after == {"email": False, "sms": True, "language": "en"}


def test_a_number_removed_since_means_no_sms(person):
    person.phone = "33123456"
    person.save()
    preference_update(actor=person, by_email=True, by_sms=True, language="ar")
    person.phone = ""
    person.save()
    assert preference_for(person).by_sms is False


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"by_email": True, "by_sms": True, "language": "ar"}, "sms"),  # no mobile on the account
        ({"by_email": True, "by_sms": False, "language": "fr"}, "language"),
        ({"by_email": True, "by_sms": False, "language": ""}, "language"),
    ],
)
def test_refused_choices_change_nothing(person, kwargs, field):
    with pytest.raises(ValidationError) as refused:
        preference_update(actor=person, **kwargs)
    assert list(refused.value.message_dict) == [field]
    assert not Preference.objects.exists()
    assert not AuditEvent.objects.filter(action="notifications.preference.update").exists()


# API ----------------------------------------------------------------------------------------


def test_api_get_and_put(client, person):
    headers = auth(person)
    got = client.get(URL, **headers)
    assert got.status_code == 200
    assert got.json() == {
        "email": True,
        "sms": False,
        "language": "ar",
        "portal": True,
        "has_email": True,
        "has_mobile": False,
    }
    put = client.put(
        URL, {"email": False, "sms": False, "language": "en"}, content_type="application/json", **headers
    )
    assert put.status_code == 200 and put.json()["language"] == "en" and put.json()["email"] is False
    assert Preference.objects.get(user=person).language == "en"


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": True, "sms": True, "language": "ar"}, "sms"),
        ({"email": True, "sms": False, "language": "de"}, "language"),
        ({"email": "yes", "sms": False, "language": "ar"}, "email"),
        ({"sms": False, "language": "ar"}, "email"),
    ],
)
def test_api_bad_input_is_named_in_the_request_language_and_changes_nothing(
    client, person, language, body, field
):
    response = client.put(
        URL, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language, **auth(person)
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert response["Content-Language"] == language
    assert not Preference.objects.exists()


def test_api_needs_a_caller(client):
    assert client.get(URL).status_code == 401
    response = client.put(
        URL, {"email": True, "sms": False, "language": "ar"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert not Preference.objects.exists()


def test_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths[URL]) >= {"get", "put"}


# Portal -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "heading"), [("ar", 'lang="ar"'), ("en", 'lang="en"')])
def test_page_in_both_languages_linked_from_the_header(client, person, language, heading):
    client.force_login(person)
    response = client.get(f"/{language}/account/notifications/")
    assert response.status_code == 200
    html = response.content.decode()
    assert heading in html
    assert f'href="/{language}/account/notifications/" id="notifications-link"' in html
    assert 'name="email" id="id_email"' in html and "checked" in html.split('id="id_email"')[1][:60]
    assert 'value="ar"' in html and 'value="en"' in html
    assert html.count('type="checkbox" name="sms"') == 1


def test_page_saves_the_choice(client, person):
    person.phone = "36001122"
    person.save()
    client.force_login(person)
    response = client.post("/en/account/notifications/", {"sms": "on", "language": "en"})
    assert response.status_code == 302 and response["Location"] == "/en/account/notifications/"
    stored = Preference.objects.get(user=person)
    assert (stored.by_email, stored.by_sms, stored.language) == (False, True, "en")
    page = client.get("/en/account/notifications/").content.decode()
    assert "36001122" in page  # the number the messages go to


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "on", "sms": "on", "language": "ar"}, "sms"),
        ({"email": "on", "language": "xx"}, "language"),
    ],
)
def test_page_names_the_bad_field_and_changes_nothing(client, person, language, data, field):
    client.force_login(person)
    response = client.post(f"/{language}/account/notifications/", data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="error-summary"' in html and f'href="#id_{field}' in html
    assert not Preference.objects.exists()


def test_page_needs_a_login(client):
    response = client.get("/ar/account/notifications/")
    assert response.status_code == 302 and "/ar/login/" in response["Location"]


def test_the_notices_page_links_to_the_preferences(client, person):
    client.force_login(person)
    html = client.get("/en/notices/").content.decode()
    assert '<a href="/en/account/notifications/" id="notification-preferences-link">' in html
