"""Django tries URL patterns in order: the public verification (every QR code scanned, the
busiest public call) is the first pattern of the API and of the portal, not the sixtieth and
the thirtieth (about 0.2 ms of matching a request; issue 14, session 24)."""

from django.urls import URLPattern, resolve

from khutwa.api.api import api
from khutwa.portal import urls as portal_urls


def test_the_api_tries_the_verification_first() -> None:
    """Only ninja's own two (the OpenAPI document and its page) and the API's own `/me`, which
    ninja puts before every router's operations, come before it."""
    patterns, _app, _namespace = api.urls
    routes = [str(p.pattern) for p in patterns if isinstance(p, URLPattern)]
    first = next(n for n, route in enumerate(routes) if route not in ("openapi.json", "docs", "me"))
    assert routes[first].startswith("verify/"), routes[:5]
    match = resolve("/api/v1/verify/0b0e1c52-5d3a-4a53-9d0e-2f1f6a1b2c3d")
    assert match.route == "api/v1/" + routes[first]


def test_the_portal_tries_the_verification_page_first() -> None:
    first = portal_urls.urlpatterns[0]
    assert isinstance(first, URLPattern) and first.name == "verify"
    match = resolve("/en/verify/0b0e1c52-5d3a-4a53-9d0e-2f1f6a1b2c3d")
    assert match.url_name == "verify" and match.kwargs == {
        "public_id": "0b0e1c52-5d3a-4a53-9d0e-2f1f6a1b2c3d"
    }
    assert resolve("/en/verify/").url_name == "verify_upload"
