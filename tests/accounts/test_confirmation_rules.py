"""Applying needs a confirmed e-mail or mobile, through the API too; the national identity's
settings fail fast and open the Content-Security-Policy to the provider's logout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from khutwa.accounts.roles import Role
from khutwa.licensing.models import Application
from tests.api.test_licensing_api import auth, body
from tests.config.test_settings import environment_for


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_api_refuses_an_unconfirmed_applicant_as_problem_json(client, make_user, lang):
    user = make_user(Role.APPLICANT, cpr="850101239", email_confirmed_at=None)
    response = client.post(
        "/api/v1/applications",
        body(),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=lang,
        **auth(user),
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_a_confirmed_mobile_is_enough_to_apply(client, make_user):
    from django.utils import timezone

    user = make_user(
        Role.APPLICANT, cpr="850101239", email_confirmed_at=None, phone_confirmed_at=timezone.now()
    )
    response = client.post("/api/v1/applications", body(), content_type="application/json", **auth(user))
    assert response.status_code == 201, response.content


SHOW_POLICY = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"
)


def _start(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", SHOW_POLICY],
        env=environment_for(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_issuer_without_its_client_refuses_to_start(tmp_path):
    result = _start(tmp_path, KHUTWA_OIDC_ISSUER="https://ekey.example.bh")
    assert result.returncode != 0
    assert "KHUTWA_OIDC_CLIENT_ID" in result.stderr


def test_the_logout_form_may_lead_to_the_configured_provider(tmp_path):
    configured = _start(
        tmp_path,
        KHUTWA_OIDC_ISSUER="https://ekey.example.bh/",
        KHUTWA_OIDC_CLIENT_ID="khutwa",
        KHUTWA_OIDC_CLIENT_SECRET="s" * 32,
    )
    assert configured.returncode == 0, configured.stderr
    assert "https://ekey.example.bh'" in configured.stdout
    plain = _start(tmp_path)
    assert "ekey" not in plain.stdout
