"""Production refuses what is unsafe: Django's deployment checks pass with the production
settings, https is enforced (redirect, HSTS, secure cookies), mail goes through SMTP, and the
demo data (accounts with a known password) cannot be loaded."""

import io
import json
import socketserver
import subprocess
import sys
import threading

import pytest
from django.core.management import CommandError, call_command

from khutwa.accounts.models import User
from tests.config.test_settings import environment_for, production


def khutwa(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`khutwa ARGS` in a fresh process with exactly this environment."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "khutwa.cli", *args],
        env=environment_for(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: str(getattr(settings, name, None)) for name in %r}))
"""


def settings_of(tmp_path, *names: str, **env: str) -> dict[str, str]:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SETTINGS % (names,)],
        env=environment_for(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- Django's deployment checks -------------------------------------------------------------


def test_check_deploy_finds_nothing_with_the_production_settings(tmp_path):
    result = khutwa(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output and "ERROR" not in output


def test_check_deploy_names_what_an_operator_turned_off(tmp_path):
    """The HSTS flags are configurable; turning one off is reported, not hidden."""
    result = khutwa(
        tmp_path, "check", "--deploy", **production(KHUTWA_HSTS_PRELOAD="false", KHUTWA_SSL_REDIRECT="no")
    )
    assert "security.W021" in result.stderr and "security.W008" in result.stderr
    assert "security.W005" not in result.stderr


def test_production_defaults_are_https_only(tmp_path):
    values = settings_of(
        tmp_path,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        **production(),
    )
    assert values == {
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "SECURE_HSTS_PRELOAD": "True",
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        # No proxy configured: a client's X-Forwarded-Proto is not believed.
        "SECURE_PROXY_SSL_HEADER": "None",
    }


def test_hsts_and_the_proxy_header_are_configurable(tmp_path):
    values = settings_of(
        tmp_path,
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        **production(
            KHUTWA_HSTS_SECONDS="600",
            KHUTWA_HSTS_INCLUDE_SUBDOMAINS="false",
            KHUTWA_HSTS_PRELOAD="false",
            KHUTWA_NUM_PROXIES="1",
        ),
    )
    assert values == {
        "SECURE_HSTS_SECONDS": "600",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "False",
        "SECURE_HSTS_PRELOAD": "False",
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')",
    }


def test_development_sends_no_hsts_and_does_not_redirect(tmp_path):
    values = settings_of(tmp_path, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE")
    assert values == {
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "False",
    }


REQUESTS = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="khutwa.bh")
plain = client.get("/healthz")
secure = client.get("/healthz", secure=True)
print(json.dumps({"plain": [plain.status_code, plain.get("Location")],
                  "hsts": secure.get("Strict-Transport-Security"),
                  "status": secure.status_code}))
"""


def test_production_redirects_to_https_and_sends_hsts(tmp_path):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", REQUESTS],
        env=environment_for(tmp_path, **production()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["plain"] == [301, "https://khutwa.bh/healthz"]
    assert seen["status"] == 200
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"


# --- E-mail -------------------------------------------------------------------------------


def test_production_sends_mail_through_smtp_configured_by_the_environment(tmp_path):
    values = settings_of(
        tmp_path,
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS",
        "EMAIL_USE_SSL",
        "EMAIL_TIMEOUT",
        "DEFAULT_FROM_EMAIL",
        **production(EMAIL_PORT="2587", EMAIL_HOST_USER="khutwa", EMAIL_HOST_PASSWORD="s3cret-relay"),
    )
    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.khutwa.bh",
        "EMAIL_PORT": "2587",
        "EMAIL_HOST_USER": "khutwa",
        "EMAIL_HOST_PASSWORD": "s3cret-relay",
        "EMAIL_USE_TLS": "True",
        "EMAIL_USE_SSL": "False",
        "EMAIL_TIMEOUT": "10",
        "DEFAULT_FROM_EMAIL": "khutwa@khutwa.bh",
    }


@pytest.mark.parametrize("backend", ["console", "filebased", "locmem", "dummy"])
def test_production_refuses_a_backend_that_delivers_nothing(tmp_path, backend):
    from tests.config.test_settings import _start

    result = _start(tmp_path, **production(EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend"))
    assert result.returncode != 0
    assert "EMAIL_BACKEND" in result.stderr and "does not deliver mail" in result.stderr


@pytest.mark.parametrize(
    ("leave_out", "named"),
    [("EMAIL_HOST", "EMAIL_HOST is required"), ("DEFAULT_FROM_EMAIL", "DEFAULT_FROM_EMAIL is required")],
)
def test_production_without_a_mail_server_or_sender_refuses_to_start(tmp_path, leave_out, named):
    from tests.config.test_settings import _start

    result = _start(tmp_path, **production(leave_out))
    assert result.returncode != 0
    assert named in result.stderr


def test_tls_and_ssl_together_are_refused(tmp_path):
    from tests.config.test_settings import _start

    result = _start(tmp_path, EMAIL_USE_TLS="true", EMAIL_USE_SSL="true")
    assert result.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL" in result.stderr


def test_development_writes_mail_to_the_console_or_a_file(tmp_path):
    assert settings_of(tmp_path, "EMAIL_BACKEND") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    result = khutwa(
        tmp_path,
        "sendtestemail",
        "someone@example.bh",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
    )
    assert result.returncode == 0, result.stderr
    (written,) = (tmp_path / "mail").iterdir()
    assert "someone@example.bh" in written.read_text()


# --- The demo data ------------------------------------------------------------------------


def test_demo_refuses_to_run_in_production(tmp_path):
    result = khutwa(tmp_path, "demo", **production())
    assert result.returncode == 1
    assert "CommandError: khutwa demo refuses to run when KHUTWA_ENV=production" in result.stderr
    assert "Demo data loaded" not in result.stdout


@pytest.mark.django_db
def test_demo_in_production_creates_nothing(settings):
    settings.IS_PRODUCTION = True
    settings.KHUTWA_ENV = "production"
    with pytest.raises(CommandError, match="KHUTWA_ENV=production"):
        call_command("demo", stdout=io.StringIO())
    assert not User.objects.filter(username__in=["registrar", "holder"]).exists()


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message and keep it (server.received)."""

    def handle(self) -> None:
        self.wfile.write(b"220 relay.khutwa.test ESMTP\r\n")
        envelope: dict[str, object] = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 relay.khutwa.test\r\n")
            elif verb == "MAIL":
                envelope["from"] = command
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)  # type: ignore[union-attr]
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End with .\r\n")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                envelope["data"] = body.decode()
                self.server.received.append(envelope)  # type: ignore[attr-defined]
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_production_delivers_mail_to_the_smtp_server_of_the_environment(tmp_path):
    """Not only the settings: `khutwa sendtestemail` in production hands the message to the
    SMTP server named by EMAIL_HOST and EMAIL_PORT, from DEFAULT_FROM_EMAIL; nothing on stdout."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = khutwa(
            tmp_path,
            "sendtestemail",
            "someone@example.bh",
            **production(
                EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(server.server_address[1]), EMAIL_USE_TLS="false"
            ),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    (message,) = server.received  # type: ignore[attr-defined]
    assert message["from"].upper() == "MAIL FROM:<KHUTWA@KHUTWA.BH>"
    assert [r.upper() for r in message["rcpt"]] == ["RCPT TO:<SOMEONE@EXAMPLE.BH>"]
    assert "To: someone@example.bh" in message["data"]
    assert "someone@example.bh" not in result.stdout  # not written to the console


# --- Text messages ------------------------------------------------------------------------


def test_production_sends_sms_through_the_gateway_when_one_is_configured_and_offers_none_otherwise(tmp_path):
    without = settings_of(tmp_path, "KHUTWA_SMS_BACKEND", **production())
    assert without == {"KHUTWA_SMS_BACKEND": "dummy"}
    gateway = settings_of(
        tmp_path, "KHUTWA_SMS_BACKEND", **production(KHUTWA_SMS_GATEWAY_URL="https://sms.example.bh/send")
    )
    assert gateway == {"KHUTWA_SMS_BACKEND": "http"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KHUTWA_SMS_BACKEND": "console"}, "does not deliver"),
        ({"KHUTWA_SMS_BACKEND": "http"}, "KHUTWA_SMS_GATEWAY_URL is required"),
        ({"KHUTWA_SMS_BACKEND": "pigeon"}, "KHUTWA_SMS_BACKEND must be"),
    ],
)
def test_production_refuses_an_sms_backend_that_cannot_deliver(tmp_path, env, named):
    from tests.config.test_settings import _start

    result = _start(tmp_path, **production(**env))
    assert result.returncode != 0
    assert named in result.stderr
