from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.accounts.oidc_provider import SECRET, OpenIdProvider, openid_provider


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OpenIdProvider]:
    """npm's oidc-provider on 127.0.0.1, for the whole session; its clients call back to Django's
    test client (http://testserver)."""
    with openid_provider(["http://testserver"]) as provider:
        yield provider


@pytest.fixture
def national_identity(settings, oidc_provider):  # type: ignore[no-untyped-def]
    """The portal configured for the test provider (the RS256 client; login_hint names the
    provider's account to log in)."""
    settings.KHUTWA_OIDC_ISSUER = oidc_provider.issuer
    settings.KHUTWA_OIDC_CLIENT_ID = "khutwa"
    settings.KHUTWA_OIDC_CLIENT_SECRET = SECRET
    settings.OIDC_RP_CLIENT_ID = "khutwa"
    settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"login_hint": "citizen"}
    return oidc_provider
