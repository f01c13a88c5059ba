"""Wrong or missing configuration stops start-up with a message naming the variable."""

import os
import subprocess
import sys

import pytest

SETUP = "import django; django.setup(); print('started')"


def _start(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"SECRET_KEY", "DATABASE_URL", "DEBUG", "ALLOWED_HOSTS", "KHUTWA_ENV", "KHUTWA_KEY_PASSPHRASE"}
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "khutwa.config.settings", "KHUTWA_VAR_DIR": str(tmp_path)})
    environment.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", SETUP], env=environment, capture_output=True, text=True, timeout=60
    )


def test_development_starts_with_defaults_and_generates_a_secret_key(tmp_path):
    result = _start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = _start(
        tmp_path,
        KHUTWA_ENV="production",
        ALLOWED_HOSTS="khutwa.bh",
        KHUTWA_SITE_URL="https://khutwa.bh",
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    result = _start(
        tmp_path,
        KHUTWA_ENV="production",
        SECRET_KEY="x" * 50,
        KHUTWA_SITE_URL="https://khutwa.bh",
        KHUTWA_KEY_PASSPHRASE="p" * 20,
    )
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
    result = _start(
        tmp_path,
        KHUTWA_ENV="production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="khutwa.bh",
        KHUTWA_SITE_URL="https://khutwa.bh",
    )
    assert result.returncode != 0
    assert "KHUTWA_KEY_PASSPHRASE is required" in result.stderr


def test_production_starts_when_configured(tmp_path):
    result = _start(
        tmp_path,
        KHUTWA_ENV="production",
        KHUTWA_KEY_PASSPHRASE="p" * 20,
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="khutwa.bh",
        KHUTWA_SITE_URL="https://khutwa.bh",
    )
    assert result.returncode == 0, result.stderr
