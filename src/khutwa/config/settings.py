"""Khutwa settings: everything comes from the environment (docs/configuration.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import fontpkg_amiri
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from khutwa.config.env import (
    dev_secret_key,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_required,
    env_str,
)
from khutwa.ops.logs import configure_structlog, logging_config
from khutwa.tlog.note import NoteError as _NoteError
from khutwa.tlog.note import Verifier as _Verifier
from khutwa.trust.seal import valid_site

SRC_DIR = Path(__file__).resolve().parent.parent  # src/khutwa
BASE_DIR = SRC_DIR.parent.parent  # the repository
VAR_DIR = Path(env_str("KHUTWA_VAR_DIR", str(BASE_DIR / "var")) or "var")

KHUTWA_ENV = env_choice("KHUTWA_ENV", "development", ("development", "production"))
IS_PRODUCTION = KHUTWA_ENV == "production"

DEBUG = env_bool("DEBUG", default=False)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be false when KHUTWA_ENV=production.")

if IS_PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY", "when KHUTWA_ENV=production")
    # Django's own rule (check --deploy, security.W009): long and not made of a few characters.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 50 random characters when KHUTWA_ENV=production "
            "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # The platform's private keys cannot be opened without it (documents/signing.py reads it).
    env_required("KHUTWA_KEY_PASSPHRASE", "when KHUTWA_ENV=production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is required when KHUTWA_ENV=production; "
            "set the environment variable ALLOWED_HOSTS."
        )
else:
    SECRET_KEY = env_str("SECRET_KEY") or dev_secret_key(VAR_DIR)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

KHUTWA_SITE_URL = (env_str("KHUTWA_SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
_site = urlsplit(KHUTWA_SITE_URL)
if _site.scheme not in ("http", "https") or not _site.netloc:
    raise ImproperlyConfigured(f"KHUTWA_SITE_URL must be an absolute http(s) URL, got {KHUTWA_SITE_URL!r}.")
# Documents seal the site (seal KW2): one spelling per site, lower-case scheme and host.
KHUTWA_SITE_URL = f"{_site.scheme.lower()}://{_site.netloc.lower()}{_site.path}"
if not valid_site(KHUTWA_SITE_URL):
    raise ImproperlyConfigured(
        "KHUTWA_SITE_URL must be http(s)://host[:port][/prefix], without a query, '~' or '|', "
        f"at most 100 characters; got {KHUTWA_SITE_URL!r}."
    )
if IS_PRODUCTION and _site.scheme != "https":
    raise ImproperlyConfigured("KHUTWA_SITE_URL must use https when KHUTWA_ENV=production.")

# The public transparency log (docs/transparency-log.md): its origin, the first line of every
# checkpoint (a schema-less URL naming this log; default "<site host and path>/log"), and the
# maximum merge delay: a document older than this that is not in the log is reported missing.
KHUTWA_LOG_ORIGIN = env_str("KHUTWA_LOG_ORIGIN", "") or f"{_site.netloc.lower()}{_site.path.rstrip('/')}/log"
KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS = env_int("KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS", 10, minimum=1)
# How often the sequencer anchors the audit chains' heads that moved (one entry per chain).
KHUTWA_LOG_AUDIT_ANCHOR_SECONDS = env_int("KHUTWA_LOG_AUDIT_ANCHOR_SECONDS", 60, minimum=1)
# The witnesses whose cosignatures the log accepts (POST /api/v1/log/cosignatures) and publishes:
# their cosigner vkeys ("<name>+<key id>+<base64 key>", from `khutwa log-witness-key`),
# separated by commas; none by default (docs/operations.md, "Witnesses").
KHUTWA_LOG_WITNESSES = env_list("KHUTWA_LOG_WITNESSES", [])
for _vkey in KHUTWA_LOG_WITNESSES:
    try:
        if not _Verifier.from_vkey(_vkey).is_cosigner:
            raise _NoteError("not a cosigner key (type 0x04)")
    except _NoteError as _exc:
        raise ImproperlyConfigured(f"KHUTWA_LOG_WITNESSES: {_vkey!r} is not a witness vkey: {_exc}") from None

KHUTWA_KEY_DIR = Path(env_str("KHUTWA_KEY_DIR", str(VAR_DIR / "keys")) or "")
KHUTWA_PRIVATE_DIR = Path(env_str("KHUTWA_PRIVATE_DIR", str(VAR_DIR / "private")) or "")
# The Labour Fund's commercial registration number, for its book entry on split invoices.
KHUTWA_TAMKEEN_CR = env_str("KHUTWA_TAMKEEN_CR", "40000-1") or "40000-1"
# Tamkeen's paying account for payout files (placeholders until configured).
KHUTWA_TAMKEEN_IBAN = env_str("KHUTWA_TAMKEEN_IBAN", "BH67BMAG00001299123456") or ""
KHUTWA_TAMKEEN_BIC = env_str("KHUTWA_TAMKEEN_BIC", "BMAGBHBM") or ""
KHUTWA_DEMO_PASSWORD = env_str("KHUTWA_DEMO_PASSWORD", "khutwa-demo") or "khutwa-demo"
KHUTWA_API_TOKEN_HOURS = env_int("KHUTWA_API_TOKEN_HOURS", 12, minimum=1)
# /metrics answers `Authorization: Bearer <this>` (and signed-in system administrators).
KHUTWA_METRICS_TOKEN = env_str("KHUTWA_METRICS_TOKEN", "") or ""
if IS_PRODUCTION and KHUTWA_METRICS_TOKEN and len(KHUTWA_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("KHUTWA_METRICS_TOKEN must be at least 32 characters.")
# /readyz says "not ready" when the oldest due task has waited longer than this (seconds).
KHUTWA_READY_TASK_LAG = env_int("KHUTWA_READY_TASK_LAG", 300, minimum=1)

# Authentication (docs/configuration.md; docs/security.md). Failed logins are counted per account
# and per client address, in the database (django-axes' AccessAttempt rows), so that every worker
# and every node sees the same counters.
KHUTWA_LOCKOUT_ACCOUNT_FAILURES = env_int("KHUTWA_LOCKOUT_ACCOUNT_FAILURES", 5, minimum=1)
KHUTWA_LOCKOUT_IP_FAILURES = env_int("KHUTWA_LOCKOUT_IP_FAILURES", 20, minimum=1)
KHUTWA_LOCKOUT_MINUTES = env_int("KHUTWA_LOCKOUT_MINUTES", 15, minimum=1)
# Sessions: staff (any staff role) end after this many idle minutes and at the latest this many
# hours after logging in; everyone else's end at the latest after KHUTWA_SESSION_DAYS.
KHUTWA_STAFF_IDLE_MINUTES = env_int("KHUTWA_STAFF_IDLE_MINUTES", 30, minimum=1)
KHUTWA_STAFF_SESSION_HOURS = env_int("KHUTWA_STAFF_SESSION_HOURS", 12, minimum=1)
KHUTWA_SESSION_DAYS = env_int("KHUTWA_SESSION_DAYS", 14, minimum=1)
# Staff prove a second factor (TOTP). Development may waive it for accounts marked so (the demo's
# staff accounts); production never does.
KHUTWA_OTP_EXEMPTIONS = env_bool("KHUTWA_OTP_EXEMPTIONS", default=not IS_PRODUCTION)
if IS_PRODUCTION and KHUTWA_OTP_EXEMPTIONS:
    raise ImproperlyConfigured(
        "KHUTWA_OTP_EXEMPTIONS must be false when KHUTWA_ENV=production: every staff account "
        "proves a second factor there."
    )
# PDF signatures are time-stamped by the platform's own TSA (in process) unless this names an
# RFC 3161 TSA to ask over HTTP (a national TSA), whose root certificate(s) are in the PEM file
# KHUTWA_TSA_TRUST_ROOTS (else its certificate must chain to the platform's own root).
KHUTWA_TSA_URL = env_str("KHUTWA_TSA_URL", "") or ""
if KHUTWA_TSA_URL and urlsplit(KHUTWA_TSA_URL).scheme not in ("http", "https"):
    raise ImproperlyConfigured(f"KHUTWA_TSA_URL must be an http(s) URL, got {KHUTWA_TSA_URL!r}.")
KHUTWA_TSA_TRUST_ROOTS = env_str("KHUTWA_TSA_TRUST_ROOTS", "") or ""
if KHUTWA_TSA_TRUST_ROOTS and not Path(KHUTWA_TSA_TRUST_ROOTS).is_file():
    raise ImproperlyConfigured(
        f"KHUTWA_TSA_TRUST_ROOTS must name a PEM file, got {KHUTWA_TSA_TRUST_ROOTS!r}."
    )
KHUTWA_TSA_TIMEOUT = env_int("KHUTWA_TSA_TIMEOUT", 10, minimum=1)
# Seconds a webhook receiver has to connect and to answer (each); a slower one counts as a
# failed attempt and is retried on the delivery's schedule (docs/integration.md).
KHUTWA_WEBHOOK_TIMEOUT = env_int("KHUTWA_WEBHOOK_TIMEOUT", 5, minimum=1)

INSTALLED_APPS = [
    "khutwa.accounts.apps.KhutwaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "khutwa.audit",
    "khutwa.catalogue",
    "khutwa.accounts",
    "khutwa.licensing",
    "khutwa.approvals",
    "khutwa.documents",
    "khutwa.support",
    "khutwa.webhooks",
    "khutwa.jobs",
    "khutwa.notifications",
    "khutwa.statistics",
    "khutwa.portal",
    "khutwa.api",
    "khutwa.ops",
    "khutwa.tlog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "khutwa.http.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "khutwa.audit.middleware.RequestIdMiddleware",
    "khutwa.ops.logs.RequestLogMiddleware",
    # After a write, the client's reads go to the primary for a while (config/routers.py).
    "khutwa.config.routers.PrimaryPinMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's and django-otp's, with the user, their roles and TOTP device in one query.
    "khutwa.accounts.middleware.AuthenticationMiddleware",
    "khutwa.accounts.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "khutwa.accounts.middleware.SessionPolicyMiddleware",
    "khutwa.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Routing-level errors under /api/ (404, 405, 500 outside an operation) as problem+json.
    "khutwa.api.middleware.ApiProblemMiddleware",
    # Last, as django-axes asks: it turns a lockout into the response (accounts/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "khutwa.config.urls"
WSGI_APPLICATION = "khutwa.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "khutwa.portal.context_processors.site",
            ],
        },
    },
]

# Database: SQLite in WAL mode under var/ by default; PostgreSQL via DATABASE_URL.
_default_db = f"sqlite:///{VAR_DIR / 'khutwa.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", _default_db) or _default_db
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL we understand: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if not str(_db["NAME"]).startswith(":memory:"):
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # IMMEDIATE serialises concurrent writers (select_for_update is a no-op on SQLite).
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _db["ENGINE"] not in ("django.db.backends.postgresql",):
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at SQLite or PostgreSQL, got engine {_db['ENGINE']!r}."
    )
# PostgreSQL: DB_PREPARE_THRESHOLD=N binds parameters on the server and prepares a statement the
# N-th time a connection runs it (psycopg's prepare_threshold): the server plans it once, not on
# every request (a verification's document read spent more time planned than run). Off by default:
# PgBouncer before 1.21 in transaction mode (the cluster's, Debian 12's 1.18) cannot carry prepared
# statements between its server connections; use it on direct connections (docs/configuration.md).
DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 0, minimum=0)
_prepared: dict[str, Any] = (
    {"server_side_binding": True, "prepare_threshold": DB_PREPARE_THRESHOLD}
    if DB_PREPARE_THRESHOLD and _db["ENGINE"] == "django.db.backends.postgresql"
    else {}
)
if _prepared:
    _db["OPTIONS"] = {**_db.get("OPTIONS", {}), **_prepared}
_db["ATOMIC_REQUESTS"] = False
# Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator()) cannot outlive
# its transaction's server connection: DB_DISABLE_SERVER_SIDE_CURSORS=true turns them off.
_db["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False)
DATABASES = {"default": _db}
# A streaming replica of the primary (PostgreSQL only): the public reads (verification, the
# licence check, statistics) go there (config/routers.py); everything else stays on default.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "") or ""
if DATABASE_REPLICA_URL:
    try:
        _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL is not a database URL we understand: {exc}"
        ) from None
    if _replica["ENGINE"] != "django.db.backends.postgresql" or _db["ENGINE"] != _replica["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must point at a PostgreSQL replica of a PostgreSQL DATABASE_URL."
        )
    _replica["ATOMIC_REQUESTS"] = False
    if _prepared:
        _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), **_prepared}
    _replica["DISABLE_SERVER_SIDE_CURSORS"] = _db["DISABLE_SERVER_SIDE_CURSORS"]
    # Tests read the replica through the primary's test database.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["khutwa.config.routers.ReplicaRouter"]
# After a request that may write, the client reads from the primary for this many seconds.
KHUTWA_REPLICA_PIN_SECONDS = env_int("KHUTWA_REPLICA_PIN_SECONDS", 10, minimum=1)
# An unreachable replica is left alone (public reads from the primary) for this many seconds.
KHUTWA_REPLICA_RETRY_SECONDS = env_int("KHUTWA_REPLICA_RETRY_SECONDS", 30, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes' backend comes first: it refuses any login, right password or not, while locked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The national identity (OpenID Connect): answers only on its callback (accounts/oidc.py).
    "khutwa.accounts.oidc.NationalIdentityBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "first_name", "last_name", "email", "cpr", "name_ar")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("KHUTWA_PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    # Django's list of 20,000 common passwords (an offline breached-password list can replace it).
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("KHUTWA_PASSWORD_RESET_MINUTES", 60, minimum=5) * 60

# django-axes: lock an account after KHUTWA_LOCKOUT_ACCOUNT_FAILURES failures from anywhere, and an
# address after KHUTWA_LOCKOUT_IP_FAILURES failures for any accounts (accounts/lockout.py).
AXES_HANDLER = "khutwa.accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = KHUTWA_LOCKOUT_ACCOUNT_FAILURES
AXES_COOLOFF_TIME = dt.timedelta(minutes=KHUTWA_LOCKOUT_MINUTES)
# Tries during a lockout do not extend it, so the wait shown is the wait there is.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "khutwa.http.client_address"  # the rate limits' rule too
AXES_LOCKOUT_CALLABLE = "khutwa.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "otp"]

OTP_TOTP_ISSUER = "Khutwa"
# The admin lists staff's TOTP devices without their secret keys or QR codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Language and time: Arabic first, English second, Bahrain's clock.
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
FORMAT_MODULE_PATH = ["khutwa.formats"]
USE_I18N = True
TIME_ZONE = "Asia/Bahrain"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "khutwa_language"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
_node = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/bootstrap", _node / "bootstrap" / "dist"),
    ("vendor/htmx", _node / "htmx.org" / "dist"),
    ("vendor/jsqr", _node / "jsqr" / "dist"),
    ("fonts/amiri", Path(fontpkg_amiri.__file__).parent / "files"),
    # The interface's Arabic font (khutwa.css names the weights it uses: 400 and 700).
    ("fonts/ibm-plex-sans-arabic", _node / "@fontsource" / "ibm-plex-sans-arabic" / "files"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("KHUTWA_MANIFEST_STATIC", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = VAR_DIR / "media"

# Files the platform writes: owner read-write, group read, nobody else (the process umask,
# 027, is set by every entry point: khutwa.cli, config/wsgi.py, config/asgi.py).
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# E-mail: SMTP in production (never the console); the console (or a file) in development.
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_UNDELIVERED_BACKENDS = {
    f"django.core.mail.backends.{name}.EmailBackend" for name in ("console", "filebased", "locmem", "dummy")
}
EMAIL_BACKEND = (
    env_str(
        "EMAIL_BACKEND", _SMTP_BACKEND if IS_PRODUCTION else "django.core.mail.backends.console.EmailBackend"
    )
    or ""
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_FILE_PATH = VAR_DIR / "mail"  # the development file backend's folder
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "khutwa@localhost") or "khutwa@localhost"

# Text messages (khutwa.sms): in production the HTTP gateway when one is configured, else none
# (SMS is an optional channel: nobody is offered it); the log in development; locmem for tests.
KHUTWA_SMS_GATEWAY_URL = env_str("KHUTWA_SMS_GATEWAY_URL", "") or ""
_SMS_DEFAULT = ("http" if KHUTWA_SMS_GATEWAY_URL else "dummy") if IS_PRODUCTION else "console"
KHUTWA_SMS_BACKEND = env_str("KHUTWA_SMS_BACKEND", _SMS_DEFAULT) or _SMS_DEFAULT
if KHUTWA_SMS_BACKEND not in {"console", "locmem", "http", "dummy"}:
    raise ImproperlyConfigured(
        f"KHUTWA_SMS_BACKEND must be console, locmem, http or dummy, got {KHUTWA_SMS_BACKEND!r}."
    )
KHUTWA_SMS_GATEWAY_TOKEN = env_str("KHUTWA_SMS_GATEWAY_TOKEN", "") or ""
KHUTWA_SMS_SENDER = env_str("KHUTWA_SMS_SENDER", "Khutwa") or "Khutwa"
KHUTWA_SMS_TIMEOUT = env_int("KHUTWA_SMS_TIMEOUT", 10, minimum=1)
if KHUTWA_SMS_BACKEND == "http" and not KHUTWA_SMS_GATEWAY_URL:
    raise ImproperlyConfigured("KHUTWA_SMS_GATEWAY_URL is required when KHUTWA_SMS_BACKEND=http.")
if IS_PRODUCTION and KHUTWA_SMS_BACKEND in {"console", "locmem"}:
    raise ImproperlyConfigured(
        f"KHUTWA_SMS_BACKEND {KHUTWA_SMS_BACKEND!r} does not deliver: production sends through the "
        "HTTP gateway (KHUTWA_SMS_BACKEND=http) or not at all (dummy)."
    )

# Sign-up and confirming an account's e-mail and mobile (accounts/signup.py, docs/accounts.md).
# Check the ninth digit of a CPR number typed at sign-up (accounts/validators.py). Off by default:
# the Information & eGovernment Authority does not publish its rule, and a guessed one would turn
# away real residents; the national identity login (OIDC) carries the authority's own CPR.
KHUTWA_CPR_CHECK_DIGIT = env_bool("KHUTWA_CPR_CHECK_DIGIT", default=False)
# Hours an e-mail confirmation link stays valid:
KHUTWA_EMAIL_CONFIRM_HOURS = env_int("KHUTWA_EMAIL_CONFIRM_HOURS", 48, minimum=1)
# Minutes a mobile confirmation code (SMS) stays valid, and the wrong tries it allows:
KHUTWA_PHONE_CODE_MINUTES = env_int("KHUTWA_PHONE_CODE_MINUTES", 10, minimum=1)
KHUTWA_PHONE_CODE_ATTEMPTS = env_int("KHUTWA_PHONE_CODE_ATTEMPTS", 5, minimum=1)
# Codes sent per account (khutwa/ratelimit.py's count/period), and sign-ups per client address:
KHUTWA_PHONE_CODE_RATE = env_str("KHUTWA_PHONE_CODE_RATE", "3/10m") or "3/10m"
KHUTWA_SIGNUP_RATE = env_str("KHUTWA_SIGNUP_RATE", "10/h") or "10/h"

# Logging in with the national identity over OpenID Connect (Bahrain's eKey model;
# accounts/oidc.py). Shown on the login page only when the issuer and the client are set. The
# endpoints and keys come from <issuer>/.well-known/openid-configuration (fetched, cached).
KHUTWA_OIDC_ISSUER = (env_str("KHUTWA_OIDC_ISSUER", "") or "").rstrip("/")
KHUTWA_OIDC_CLIENT_ID = env_str("KHUTWA_OIDC_CLIENT_ID", "") or ""
KHUTWA_OIDC_CLIENT_SECRET = env_str("KHUTWA_OIDC_CLIENT_SECRET", "") or ""
# The ID token's claim that carries the CPR number, and the scopes asked for:
KHUTWA_OIDC_CPR_CLAIM = env_str("KHUTWA_OIDC_CPR_CLAIM", "cpr") or "cpr"
KHUTWA_OIDC_SCOPES = env_str("KHUTWA_OIDC_SCOPES", "openid profile email phone") or "openid profile"
# Seconds the provider's discovery document and keys are cached:
KHUTWA_OIDC_DISCOVERY_SECONDS = env_int("KHUTWA_OIDC_DISCOVERY_SECONDS", 3600, minimum=1)
if KHUTWA_OIDC_ISSUER:
    if urlsplit(KHUTWA_OIDC_ISSUER).scheme not in ("https", "http"):
        raise ImproperlyConfigured(f"KHUTWA_OIDC_ISSUER must be an http(s) URL, got {KHUTWA_OIDC_ISSUER!r}.")
    if IS_PRODUCTION and urlsplit(KHUTWA_OIDC_ISSUER).scheme != "https":
        raise ImproperlyConfigured("KHUTWA_OIDC_ISSUER must use https when KHUTWA_ENV=production.")
    if not (KHUTWA_OIDC_CLIENT_ID and KHUTWA_OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "KHUTWA_OIDC_CLIENT_ID and KHUTWA_OIDC_CLIENT_SECRET are required with KHUTWA_OIDC_ISSUER."
        )
# mozilla-django-oidc's own settings; the endpoints are read from discovery (accounts/oidc.py).
OIDC_RP_CLIENT_ID = KHUTWA_OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = KHUTWA_OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = KHUTWA_OIDC_SCOPES
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ID_TOKEN = True  # the hint for the provider's logout
OIDC_CREATE_USER = True
OIDC_REDIRECT_REQUIRE_HTTPS = IS_PRODUCTION
OIDC_VERIFY_SSL = True
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "portal:login"

SERVER_EMAIL = DEFAULT_FROM_EMAIL
if IS_PRODUCTION:
    if EMAIL_BACKEND in _UNDELIVERED_BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_BACKEND {EMAIL_BACKEND!r} does not deliver mail: KHUTWA_ENV=production sends "
            "through SMTP (leave EMAIL_BACKEND unset and set EMAIL_HOST)."
        )
    if EMAIL_BACKEND == _SMTP_BACKEND:
        env_required("EMAIL_HOST", "when KHUTWA_ENV=production (the SMTP server)")
    env_required("DEFAULT_FROM_EMAIL", "when KHUTWA_ENV=production (the sender of notifications)")

# Transport and cookies. Production: https only (redirect, HSTS), secure cookies.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = KHUTWA_SESSION_DAYS * 24 * 3600
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_SSL_REDIRECT = env_bool("KHUTWA_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_HSTS_SECONDS = env_int("KHUTWA_HSTS_SECONDS", 31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KHUTWA_HSTS_INCLUDE_SUBDOMAINS", default=IS_PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("KHUTWA_HSTS_PRELOAD", default=IS_PRODUCTION)
# Behind a reverse proxy that terminates TLS (KHUTWA_NUM_PROXIES > 0), its X-Forwarded-Proto
# says whether the client used https; without one, that header is a client's word and ignored.
if env_int("KHUTWA_NUM_PROXIES", 0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A refused form (missing or stale token) gets the site's page in the user's language.
CSRF_FAILURE_VIEW = "khutwa.portal.views_errors.csrf_failure"
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

# Response headers (docs/configuration.md, "Security headers").
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script, style or eval anywhere: scripts and styles are static files (a script that
# must stay in a page carries {{ request.csp_nonce }}); QR codes and Bootstrap's icons are data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        # The national identity's logout is a redirect after the logout form (accounts/oidc.py).
        "form-action": [SELF, *([KHUTWA_OIDC_ISSUER] if KHUTWA_OIDC_ISSUER else [])],
        "base-uri": [SELF],
        "upgrade-insecure-requests": IS_PRODUCTION,
    }
}
# Powerful browser features: all off; a view opens one to its own origin with
# khutwa.http.permissions_allow (the QR scan pages use the camera).
PERMISSIONS_POLICY_FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

# Structured JSON logs with the request id, no personal data (ops/logs.py).
KHUTWA_LOG_FORMAT = env_choice("KHUTWA_LOG_FORMAT", "json", ("json", "console"))
configure_structlog()
LOGGING = logging_config(env_str("LOG_LEVEL", "INFO") or "INFO", KHUTWA_LOG_FORMAT)

NINJA_PAGINATION_MAX_LIMIT = 500
# Rate limits key on the client address: how many trusted proxies sit in front (their
# X-Forwarded-For entries are trusted); 0 means REMOTE_ADDR, which cannot be spoofed.
NINJA_NUM_PROXIES = env_int("KHUTWA_NUM_PROXIES", 0)
# Rate limits ("count/period", period in s, m, h or d, optionally with a multiple: "10/10m"),
# each purpose in a bucket of its own per client address, counted in the default cache
# (khutwa/ratelimit.py). A page and its API twin share their bucket.
# Document verification (/verify/<id> and GET /api/v1/verify/<id>) and the public licence check
# (/licences/<number> and GET /api/v1/licences/<number>), each per client:
KHUTWA_PUBLIC_RATE = env_str("KHUTWA_PUBLIC_RATE", "120/m") or "120/m"
# Tracking attempts per client (the tracking page and POST /api/v1/applications/track):
KHUTWA_TRACK_RATE = env_str("KHUTWA_TRACK_RATE", "10/10m") or "10/10m"
# Failed tracking attempts per application reference, whoever makes them:
KHUTWA_TRACK_REFERENCE_RATE = env_str("KHUTWA_TRACK_REFERENCE_RATE", "5/h") or "5/h"
# Uploaded PDFs checked per client (/verify/ upload):
KHUTWA_PDF_CHECK_RATE = env_str("KHUTWA_PDF_CHECK_RATE", "10/m") or "10/m"
for _rate_name in (
    "KHUTWA_PUBLIC_RATE",
    "KHUTWA_TRACK_RATE",
    "KHUTWA_TRACK_REFERENCE_RATE",
    "KHUTWA_PDF_CHECK_RATE",
    "KHUTWA_PHONE_CODE_RATE",
    "KHUTWA_SIGNUP_RATE",
):
    if not re.fullmatch(r"[1-9][0-9]*/[1-9]?[0-9]*[smhd]", globals()[_rate_name]):
        raise ImproperlyConfigured(f"{_rate_name} must be count/period such as 120/m or 10/10m.")

# The shared state of every worker and node: rate-limit counters, sessions' cache, statistics.
# Redis (Django's own backend) when KHUTWA_REDIS_URL is set, as in a cluster; otherwise the
# database, whose table is made by `khutwa createcachetable`, run after every `migrate`
# (Makefile, scripts; the test database makes its own). Login lockouts stay in the database
# (django-axes' handler): a restarted Redis resets rate limits, never a lockout.
KHUTWA_REDIS_URL = env_str("KHUTWA_REDIS_URL", "") or ""
if KHUTWA_REDIS_URL:
    if urlsplit(KHUTWA_REDIS_URL).scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"KHUTWA_REDIS_URL must be a redis://, rediss:// or unix:// URL, got {KHUTWA_REDIS_URL!r}."
        )
    CACHES = {
        "default": {
            # Django's Redis backend, best-effort when Redis is away (ops/cache.py).
            "BACKEND": "khutwa.ops.cache.ResilientRedisCache",
            "LOCATION": KHUTWA_REDIS_URL,
            "KEY_PREFIX": "khutwa",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "khutwa_cache",
        }
    }
# Sessions live in the database. Over Redis they are also read from the cache and written
# through to the database (a cache restart logs nobody out); over the database cache that
# would be two writes of the same thing, so the database alone.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if KHUTWA_REDIS_URL else "db")
# How long the statistics pages' figures are kept in the cache above (seconds): the figures are
# that many seconds old at most (docs/statistics.md).
KHUTWA_STATISTICS_CACHE_SECONDS = env_int("KHUTWA_STATISTICS_CACHE_SECONDS", 300, minimum=1)

# Background work through Django's tasks interface (the django-tasks backport): the database
# backend everywhere (SQLite embedded, PostgreSQL in a cluster, where workers claim tasks with
# SELECT ... FOR UPDATE SKIP LOCKED); `khutwa worker` runs them, `khutwa scheduler` enqueues the
# daily jobs. KHUTWA_TASKS_BACKEND=immediate runs each task in the process that enqueues it.
KHUTWA_TASKS_BACKEND = env_str("KHUTWA_TASKS_BACKEND", "database") or "database"
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if KHUTWA_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"KHUTWA_TASKS_BACKEND must be one of {sorted(_TASK_BACKENDS)}, got {KHUTWA_TASKS_BACKEND!r}."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[KHUTWA_TASKS_BACKEND], "QUEUES": ["default", "webhooks"]}}
# Reliability on top of django-tasks (docs/background-work.md): a failing task runs again after
# KHUTWA_TASK_RETRY_SECONDS, then twice that, and so on (at most an hour apart), up to
# KHUTWA_TASK_MAX_ATTEMPTS attempts, then becomes a dead letter for the system administrator.
# A task RUNNING for longer than KHUTWA_TASK_STALL_SECONDS is taken for lost with its worker and
# made READY again (more than the longest task takes); lost that often, it becomes a dead letter.
KHUTWA_TASK_MAX_ATTEMPTS = env_int("KHUTWA_TASK_MAX_ATTEMPTS", 6, minimum=1)
KHUTWA_TASK_RETRY_SECONDS = env_int("KHUTWA_TASK_RETRY_SECONDS", 30, minimum=1)
KHUTWA_TASK_STALL_SECONDS = env_int("KHUTWA_TASK_STALL_SECONDS", 600, minimum=1)
# `khutwa worker`: seconds between looks at an empty queue.
KHUTWA_WORKER_INTERVAL = env_int("KHUTWA_WORKER_INTERVAL", 1, minimum=1)
