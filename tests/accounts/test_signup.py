"""Sign-up, and confirming the e-mail address (signed link) and the mobile (SMS code)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail, signing
from django.utils import timezone
from freezegun import freeze_time

from khutwa import sms
from khutwa.accounts import services
from khutwa.accounts.models import PhoneCode, User
from khutwa.accounts.roles import Role
from khutwa.accounts.validators import cpr_check_digit, normalise_bahraini_mobile
from khutwa.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

VALID = {
    "cpr": "850101239",
    "name_ar": "مريم علي",
    "first_name": "Maryam",
    "last_name": "Ali",
    "phone": "3600 1234",
    "email": "maryam@example.bh",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def sign_up(client, language="en", **changes):  # type: ignore[no-untyped-def]
    return client.post(f"/{language}/signup/", {**VALID, **changes})


def field_errors(response, name):  # type: ignore[no-untyped-def]
    return response.context["form"].errors.get(name, [])


def code_from_sms() -> str:
    assert sms.outbox, "no text message was sent"
    return re.search(r"\b([0-9]{6})\b", sms.outbox[-1].text).group(1)


def local(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def link_from_mail() -> str:
    assert mail.outbox, "no e-mail was sent"
    return re.search(r"https?://\S+/account/confirm/email/\S+/", mail.outbox[-1].body).group(0)


# --- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_sign_up_page_explains_every_field(client, language):
    page = client.get(f"/{language}/signup/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<html lang="{language}"' in html
    for name in ("cpr", "name_ar", "first_name", "last_name", "phone", "email", "password1", "password2"):
        assert f'name="{name}"' in html
    # Help is tied to its field; the password rules are shown before anyone types.
    assert 'aria-describedby="id_cpr-help"' in html
    assert 'id="id_password1-help"' in html


def test_the_login_and_home_pages_lead_to_sign_up(client):
    assert 'href="/en/signup/"' in client.get("/en/login/").content.decode()
    assert 'href="/ar/signup/"' in client.get("/ar/").content.decode()


# --- a valid sign-up --------------------------------------------------------------------------


def test_a_valid_sign_up_makes_an_applicant_logged_in_and_sends_both_confirmations(
    client, django_capture_on_commit_callbacks, run_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, phone="00973 3600-1234", email="Maryam@Example.BH")
    run_tasks()
    assert response.status_code == 302
    assert response["Location"] == "/en/account/confirm/"
    user = User.objects.get(cpr="850101239")
    assert user.username == "850101239"
    assert (user.name_ar, user.first_name, user.last_name) == ("مريم علي", "Maryam", "Ali")
    assert user.phone == "+97336001234"
    assert user.email == "Maryam@example.bh"
    assert user.check_password(VALID["password1"])
    assert user.role_names() == {Role.APPLICANT}
    assert user.email_confirmed_at is None and user.phone_confirmed_at is None
    assert int(client.session["_auth_user_id"]) == user.pk
    assert AuditEvent.objects.filter(action="accounts.user.sign_up", object_id=str(user.pk)).exists()
    # Both languages, whatever the page's.
    assert mail.outbox[0].to == ["Maryam@example.bh"]
    assert "Confirm your e-mail address" in mail.outbox[0].subject
    assert sms.outbox[0].to == "+97336001234"
    # Only a keyed hash of the code is kept.
    code = code_from_sms()
    stored = PhoneCode.objects.get(user=user)
    assert code not in stored.code_hash and len(stored.code_hash) == 64


def test_arabic_indic_digits_are_accepted(client):
    response = sign_up(client, cpr="٨٥٠١٠١٢٣٩", phone="٣٦٠٠١٢٣٤")
    assert response.status_code == 302
    assert User.objects.filter(cpr="850101239", phone="+97336001234").exists()


# --- invalid input: named, in the page's language, nothing written ----------------------------


@pytest.mark.parametrize(
    ("field", "value", "english"),
    [
        ("cpr", "12345", "exactly 9 digits"),
        ("cpr", "850101234", "not valid: check the nine digits"),
        ("name_ar", "Maryam Ali", "Arabic letters"),
        ("first_name", "مريم", "English letters"),
        ("last_name", "", "This field is required."),
        ("phone", "1700 1234", "Bahraini mobile"),
        ("phone", "+973 3600 123", "Bahraini mobile"),
        ("email", "not-an-address", "valid email"),
        ("password1", "short", "too short"),
        ("password2", "something-else-entirely", "differ"),
    ],
)
def test_each_invalid_field_is_named_and_nothing_is_written(client, settings, field, value, english):
    settings.KHUTWA_CPR_CHECK_DIGIT = True  # a deployment that has the authority's rule turns it on
    changes = {field: value}
    if field == "password1":
        changes["password2"] = value
    response = sign_up(client, **changes)
    assert response.status_code == 400
    errors = field_errors(response, field)
    assert errors and english in " ".join(errors)
    html = response.content.decode()
    # Next to the field, and in the summary at the top with a link to it.
    assert f'id="id_{field}-error"' in html
    assert 'id="error-summary"' in html and f'href="#id_{field}"' in html
    assert User.objects.count() == 0
    assert not mail.outbox and not sms.outbox


def test_errors_are_in_arabic_on_the_arabic_page(client):
    response = sign_up(client, "ar", cpr="123", last_name="")
    html = response.content.decode()
    assert response.status_code == 400
    assert "يجب أن يتكون الرقم الشخصي من 9 أرقام بالضبط" in html
    assert "هذا الحقل مطلوب." in html
    assert "exactly 9 digits" not in html and "This field is required" not in html
    assert User.objects.count() == 0


def test_a_cpr_that_has_an_account_points_to_login_without_saying_whose(client, make_user):
    make_user(Role.APPLICANT, cpr="850101239", username="someone", first_name="Hidden", email="x@example.bh")
    response = sign_up(client)
    assert response.status_code == 400
    message = " ".join(field_errors(response, "cpr"))
    assert "already exists" in message and "reset your password" in message
    assert "Hidden" not in response.content.decode() and "someone" not in response.content.decode()
    assert User.objects.count() == 1


def test_an_email_that_has_an_account_is_refused(client, make_user):
    make_user(Role.APPLICANT, cpr="900101008", email="maryam@example.bh")
    response = sign_up(client, email="MARYAM@example.bh")
    assert "already uses this e-mail" in " ".join(field_errors(response, "email"))
    assert not User.objects.filter(cpr="850101239").exists()


def test_the_service_refuses_a_cpr_taken_meanwhile(make_user):
    make_user(cpr="850101239")
    with pytest.raises(services.Refused) as exc:
        services.user_sign_up(
            cpr="850101239", name_ar="م", first_name="M", last_name="A", phone="", email="", password="x"
        )
    assert exc.value.field == "cpr"


def test_sign_ups_are_rate_limited_per_address(client, settings):
    settings.KHUTWA_SIGNUP_RATE = "2/h"
    for _ in range(2):
        assert sign_up(client, cpr="12").status_code == 400
    assert sign_up(client).status_code == 429
    assert User.objects.count() == 0


def test_without_the_check_digit_any_nine_digits_sign_up(client, settings):
    """The default: the authority does not publish its check-digit rule, so none is guessed."""
    settings.KHUTWA_CPR_CHECK_DIGIT = False
    assert sign_up(client, cpr="850101234").status_code == 302


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("36001234", "+97336001234"),
        ("3600 1234", "+97336001234"),
        ("+973 3600 1234", "+97336001234"),
        ("00973-6600-1234", "+97366001234"),
        ("97336001234", "+97336001234"),
        ("(3600) 1234", "+97336001234"),
    ],
)
def test_mobile_numbers_are_normalised(typed, normal):
    assert normalise_bahraini_mobile(typed) == normal


def test_the_check_digit_examples():
    assert cpr_check_digit("85010123") == 9
    assert cpr_check_digit("95050512") == 9


# --- e-mail confirmation ----------------------------------------------------------------------


@pytest.fixture
def signed_up(client, django_capture_on_commit_callbacks, run_tasks):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_up(client).status_code == 302
    run_tasks()
    return User.objects.get(cpr="850101239")


def test_the_email_link_confirms_and_leads_on_to_apply(client, signed_up):
    response = client.get(local(link_from_mail()))
    assert response.status_code == 302
    assert response["Location"] == "/en/applications/new/"
    signed_up.refresh_from_db()
    assert signed_up.email_confirmed_at is not None
    assert client.get("/en/applications/new/").status_code == 200


def test_an_expired_link_is_refused(client, signed_up, settings):
    link = local(link_from_mail())
    with freeze_time(timezone.now() + dt.timedelta(hours=settings.KHUTWA_EMAIL_CONFIRM_HOURS, minutes=1)):
        response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    signed_up.refresh_from_db()
    assert signed_up.email_confirmed_at is None


def test_a_tampered_link_is_refused(client, signed_up):
    token = services.email_confirmation_token(signed_up)
    forged = signing.dumps(
        {"u": signed_up.pk, "e": signed_up.email.lower()}, salt="another-salt", compress=True
    )
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged):
        response = client.get(f"/en/account/confirm/email/{bad}/")
        assert response.status_code == 400
    signed_up.refresh_from_db()
    assert signed_up.email_confirmed_at is None


def test_a_link_for_a_former_address_is_refused(client, signed_up):
    token = services.email_confirmation_token(signed_up)
    User.objects.filter(pk=signed_up.pk).update(email="new@example.bh")
    assert client.get(f"/en/account/confirm/email/{token}/").status_code == 400
    signed_up.refresh_from_db()
    assert signed_up.email_confirmed_at is None


def test_the_link_can_be_sent_again(client, signed_up, django_capture_on_commit_callbacks, run_tasks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/account/confirm/", {"action": "send-email"})
    run_tasks()
    assert len(mail.outbox) == 1


# --- mobile confirmation ----------------------------------------------------------------------


def test_the_sms_code_confirms_and_leads_on_to_apply(client, signed_up):
    response = client.post("/en/account/confirm/", {"action": "code", "code": code_from_sms()})
    assert response.status_code == 302 and response["Location"] == "/en/applications/new/"
    signed_up.refresh_from_db()
    assert signed_up.phone_confirmed_at is not None
    assert AuditEvent.objects.filter(action="accounts.user.phone_confirm").exists()


def test_a_wrong_code_is_counted_and_the_limit_spends_the_code(client, signed_up, settings):
    settings.KHUTWA_PHONE_CODE_ATTEMPTS = 3
    right = code_from_sms()
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    first = client.post("/en/account/confirm/", {"action": "code", "code": wrong})
    assert first.status_code == 422
    assert "2 more times" in " ".join(field_errors(first, "code"))
    assert PhoneCode.objects.get(user=signed_up).attempts == 1
    client.post("/en/account/confirm/", {"action": "code", "code": wrong})
    third = client.post("/en/account/confirm/", {"action": "code", "code": wrong})
    assert third.status_code == 429
    # Spent: even the right code no longer works.
    last = client.post("/en/account/confirm/", {"action": "code", "code": right})
    assert last.status_code == 429
    signed_up.refresh_from_db()
    assert signed_up.phone_confirmed_at is None


def test_an_expired_code_is_refused(client, signed_up, settings):
    code = code_from_sms()
    with freeze_time(timezone.now() + dt.timedelta(minutes=settings.KHUTWA_PHONE_CODE_MINUTES, seconds=1)):
        response = client.post("/en/account/confirm/", {"action": "code", "code": code})
    assert response.status_code == 410
    signed_up.refresh_from_db()
    assert signed_up.phone_confirmed_at is None


def test_a_new_code_replaces_the_old_one_and_sending_is_limited(
    client, signed_up, settings, django_capture_on_commit_callbacks, run_tasks
):
    settings.KHUTWA_PHONE_CODE_RATE = "2/10m"  # the sign-up's code was the first (same window)
    old = code_from_sms()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/en/account/confirm/", {"action": "send-code"}).status_code == 302
    run_tasks()
    new = code_from_sms()
    refused = client.post("/en/account/confirm/", {"action": "send-code"})
    assert refused.status_code == 429
    assert 'id="confirm-error"' in refused.content.decode()
    assert len(sms.outbox) == 2
    if old != new:  # the earlier code no longer works: it counts as a wrong try
        assert client.post("/en/account/confirm/", {"action": "code", "code": old}).status_code == 422
    assert client.post("/en/account/confirm/", {"action": "code", "code": new}).status_code == 302


def test_a_code_that_is_not_six_digits_is_named(client, signed_up):
    response = client.post("/ar/account/confirm/", {"action": "code", "code": "12"})
    assert response.status_code == 400
    assert 'id="id_code-error"' in response.content.decode()
    assert PhoneCode.objects.get(user=signed_up).attempts == 0


# --- applying needs a confirmed contact -------------------------------------------------------


def test_an_unconfirmed_applicant_is_sent_to_confirm_before_the_form(client, signed_up):
    response = client.get("/en/applications/new/")
    assert response.status_code == 302 and response["Location"] == "/en/account/confirm/"


def test_the_service_refuses_an_unconfirmed_applicant(signed_up):
    from khutwa.errors import Refused
    from khutwa.licensing import services as licensing
    from tests.licensing.factories import make_input

    with pytest.raises(Refused) as exc:
        licensing.application_create(actor=signed_up, data=make_input(cpr=signed_up.cpr))
    assert exc.value.status == 403
    assert "Confirm your e-mail address or your mobile number" in str(exc.value)
