"""Every user changes their password, or resets it by e-mail (Arabic and English); Django's
validators are on, including the list of common passwords."""

import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from khutwa.accounts.models import ApiToken
from khutwa.accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-passphrase-42"


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.KHUTWA_SITE_URL = "https://khutwa.example"


def in_arabic(message: str) -> str:
    with translation.override("ar"):
        return translation.gettext(message)


def reset_link(body: str) -> str:
    links = re.findall(r"https://khutwa\.example(/\S+/password/reset/\S+/\S+/)", body)
    assert links, body
    return links[0]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_reset_by_email_in_either_language(make_user, lang):
    user = make_user(Role.HOLDER, cpr="900101031", username="forgetful", email="forgetful@example.com")
    Client().post(
        "/api/v1/auth/token", {"username": "forgetful", "password": PASSWORD}, content_type="application/json"
    )
    client = Client()
    page = client.get(f"/{lang}/password/reset/")
    assert f'<html lang="{lang}"' in page.content.decode()
    sent = client.post(f"/{lang}/password/reset/", {"email": "FORGETFUL@example.com"}, follow=True)
    assert sent.redirect_chain[-1][0] == f"/{lang}/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.com"]
    # Both languages, whatever the page's: the user reads the one they know.
    assert in_arabic("Reset your Khutwa password") in message.subject
    assert "Reset your Khutwa password" in message.subject
    assert "Someone asked to reset the password of the Khutwa account forgetful." in message.body
    arabic = in_arabic(
        "The link works once. If you did not ask for this, ignore this message: your password stays as it is."
    )
    assert arabic in message.body
    link = reset_link(message.body)
    assert "https://khutwa.example" in message.body  # the configured site, not the Host header

    form = client.get(f"/{lang}{link.removeprefix('/ar').removeprefix('/en')}", follow=True)
    assert form.status_code == 200
    assert 'id="set-password-form"' in form.content.decode()
    weak = client.post(
        form.redirect_chain[-1][0], {"new_password1": "password123", "new_password2": "password123"}
    )
    assert weak.status_code == 200
    with translation.override(lang):
        assert translation.gettext("This password is too common.") in weak.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == f"/{lang}/password/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not ApiToken.objects.live().filter(user=user).exists()
    assert ApiToken.objects.filter(user=user).count() == 1  # the token issued before: revoked
    # The link works once.
    again = client.get(link, follow=True)
    assert 'id="reset-invalid"' in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(make_user):
    make_user(username="known", email="known@example.com")
    response = Client().post("/en/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert response.redirect_chain[-1][0] == "/en/password/reset/sent/"
    assert mail.outbox == []


def test_a_malformed_address_names_the_field(make_user):
    response = Client().post("/en/password/reset/", {"email": "not-an-address"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("Short-1a", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("qwertyuiop123", "This password is too common."),
        ("384756102938", "This password is entirely numeric."),
        ("fatima.alansari", "The password is too similar to the username."),
    ],
)
def test_the_validators_refuse_weak_passwords(make_user, password, error):
    user = make_user(username="fatima.alansari")
    with pytest.raises(ValidationError) as exc, translation.override("en"):
        validate_password(password, user)
    assert error in exc.value.messages


def test_a_change_with_a_weak_password_says_why_and_changes_nothing(make_user):
    user = make_user(username="weakling")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/ar/password/",
        {"old_password": PASSWORD, "new_password1": "password1234", "new_password2": "password1234"},
    )
    assert response.status_code == 200
    assert in_arabic("This password is too common.") in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_every_user_can_reach_the_change_page_and_anonymous_cannot(make_user):
    assert Client().get("/en/password/")["Location"].startswith("/en/login/")
    for role, body in [(Role.APPLICANT, None), (Role.TAMKEEN_CUSTOMER, None), (Role.REGISTRAR, None)]:
        user = make_user(role, body=body)
        client = Client()
        client.force_login(user)
        assert client.get("/en/password/").status_code == 200
