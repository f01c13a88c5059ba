"""Wrong or missing configuration stops start-up with a message naming the variable."""

import os
import subprocess
import sys

import pytest

SETUP = "import django; django.setup(); print('started')"

#: A complete production configuration (docs/configuration.md); tests leave one out or add one.
PRODUCTION = {
    "KHUTWA_ENV": "production",
    "SECRET_KEY": "k7-Qz9vLr2pXw4Tn8sYb1cHf6mJd3gUe0aRo5iKl_VtNyBxZqWsPE",
    "ALLOWED_HOSTS": "khutwa.bh",
    "KHUTWA_SITE_URL": "https://khutwa.bh",
    "KHUTWA_KEY_PASSPHRASE": "p" * 20,
    "EMAIL_HOST": "smtp.khutwa.bh",
    "DEFAULT_FROM_EMAIL": "khutwa@khutwa.bh",
}


def environment_for(tmp_path, **env: str) -> dict[str, str]:
    """This process's environment without any Khutwa or Django setting (nor, e.g., the browser
    tests' DJANGO_ALLOW_ASYNC_UNSAFE), plus `env`."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KHUTWA_", "EMAIL_", "SECURE_", "DJANGO_"))
        and k not in {"SECRET_KEY", "DATABASE_URL", "DEBUG", "ALLOWED_HOSTS", "DEFAULT_FROM_EMAIL"}
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "khutwa.config.settings", "KHUTWA_VAR_DIR": str(tmp_path)})
    environment.update(env)
    return environment


def run_python(tmp_path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` run by a fresh Python with `environment_for(tmp_path, **env)`."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=environment_for(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _start(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(tmp_path, SETUP, **env)


def production(*leave_out: str, **env: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION.items() if k not in leave_out} | env


def test_development_starts_with_defaults_and_generates_a_secret_key(tmp_path):
    result = _start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = _start(tmp_path, **production("SECRET_KEY"))
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    result = _start(tmp_path, **production("ALLOWED_HOSTS"))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("KHUTWA_SITE_URL", "khutwa.bh"),
        ("KHUTWA_ENV", "staging"),
        ("KHUTWA_API_TOKEN_HOURS", "soon"),
    ],
)
def test_a_malformed_variable_is_named(tmp_path, variable, value):
    result = _start(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert f"{variable} must" in result.stderr or f"{variable} is" in result.stderr


def test_production_without_the_key_passphrase_refuses_to_start(tmp_path):
    result = _start(tmp_path, **production("KHUTWA_KEY_PASSPHRASE"))
    assert result.returncode != 0
    assert "KHUTWA_KEY_PASSPHRASE is required" in result.stderr


def test_production_starts_when_configured(tmp_path):
    result = _start(tmp_path, **production())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "key",
    ["x" * 60, "short-but-random-Q7v", "django-insecure-" + "k7-Qz9vLr2pXw4Tn8sYb1cHf6mJd3gUe0aRo5iKl"],
)
def test_production_refuses_a_weak_secret_key(tmp_path, key):
    result = _start(tmp_path, **production(SECRET_KEY=key))
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 random characters" in result.stderr


def test_development_accepts_any_secret_key(tmp_path):
    assert _start(tmp_path, SECRET_KEY="dev").returncode == 0
