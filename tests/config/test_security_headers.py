"""Every response carries the security headers: a Content-Security-Policy that allows no inline
script, style or eval, Referrer-Policy, Permissions-Policy (the camera only where a QR code is
scanned), X-Content-Type-Options, X-Frame-Options and Cross-Origin-Opener-Policy; the templates
hold nothing that such a policy would block."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from khutwa.accounts.roles import Role
from khutwa.http import PermissionsPolicyMiddleware, permissions_allow

pytestmark = pytest.mark.django_db

FEATURES_OFF = (
    "accelerometer",
    "camera",
    "display-capture",
    "geolocation",
    "microphone",
    "payment",
    "usb",
)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def permissions(response) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))


@pytest.mark.parametrize(
    "path", ["/ar/", "/en/activities/", "/en/login/", "/api/v1/catalogue/bodies", "/healthz"]
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = directives(response)
    assert csp == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = permissions(response)
    assert all(policy[feature] == "()" for feature in FEATURES_OFF)
    assert set(policy.values()) == {"()"}


def test_no_directive_allows_inline_code_or_eval(client):
    policy = client.get("/en/").headers["Content-Security-Policy"]
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:"):
        assert unsafe not in policy.split(), unsafe


def test_a_script_that_must_stay_in_a_page_gets_a_nonce_and_only_that_page():
    """`{{ request.csp_nonce }}` puts the request's nonce into the header's script-src."""
    from csp.middleware import CSPMiddleware

    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse(f'<script nonce="{r.csp_nonce}">'))
    response = middleware(request)
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())[1]  # type: ignore[index]
    policy = directives(response)
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'"]


@pytest.mark.parametrize("path", ["/en/support/apply/", "/ar/support/apply/?programme=x"])
def test_the_camera_is_open_to_the_site_only_where_a_qr_code_is_scanned(client, make_user, path):
    client.force_login(make_user(Role.TAMKEEN_CUSTOMER))
    response = client.get(path)
    assert response.status_code == 200
    assert 'data-qr-scan="id_quotation"' in response.content.decode()
    policy = permissions(response)
    assert policy["camera"] == "(self)"
    assert policy["microphone"] == "()" and policy["geolocation"] == "()"
    # Elsewhere, the same user's pages keep the camera off.
    assert permissions(client.get("/en/support/"))["camera"] == "()"


def test_permissions_allow_names_only_known_features():
    with pytest.raises(ValueError, match="PERMISSIONS_POLICY_FEATURES"):
        permissions_allow("camra")


def test_a_view_that_sets_its_own_permissions_policy_keeps_it():
    def view(request):
        response = HttpResponse()
        response["Permissions-Policy"] = "camera=()"
        return response

    response = PermissionsPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response["Permissions-Policy"] == "camera=()"


def test_every_feature_of_the_header_is_off_by_default():
    response = PermissionsPolicyMiddleware(lambda r: HttpResponse())(RequestFactory().get("/"))
    assert permissions(response) == {f: "()" for f in settings.PERMISSIONS_POLICY_FEATURES}


# The templates served to browsers (the PDF templates, rendered by WeasyPrint, are not).
SERVED = [
    path
    for path in (Path(settings.SRC_DIR)).glob("*/templates/**/*.html")
    if not path.name.endswith(".pdf.html") and path.name != "certificate.html"
]
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style", re.I),
    "hx-on": re.compile(r"\shx-on", re.I),
    "evaluated htmx value": re.compile(r"=\s*['\"](?:js|javascript):", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_templates_were_found():
    names = {p.name for p in SERVED}
    assert {"base.html", "document_form.html", "support_reports.html", "_qr_scan.html"} <= names


@pytest.mark.parametrize("template", SERVED, ids=lambda p: p.name)
def test_no_served_template_holds_what_the_policy_blocks(template):
    text = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(text)]
    assert not found, f"{template.name}: {found}"


def test_htmx_evaluates_nothing_and_injects_no_style(client):
    html = client.get("/en/").content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    assert config is not None
    import json

    assert json.loads(config[1]) == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
    }
