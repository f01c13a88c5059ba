"""A real OpenID provider for the tests (server.mjs: npm's oidc-provider on 127.0.0.1), and a
way through its code flow with Django's test client on one side and `requests` on the other."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[3]
SERVER = Path(__file__).with_name("server.mjs")
SECRET = "test-client-secret-with-enough-length-0123456789"

#: The people the provider knows (claims as Bahrain's national identity would give them).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "citizen": {
        "cpr": "850101239",
        "name_ar": "مريم علي",
        "given_name": "Maryam",
        "family_name": "Ali",
        "email": "maryam@example.bh",
        "email_verified": True,
        "phone_number": "+973 3600 1234",
        "phone_number_verified": True,
    },
    "resident": {
        "cpr": "950505129",
        "name_ar": "راجيش كومار",
        "name_en": "Rajesh Kumar",
    },
    "no-cpr": {"name_en": "Nobody Known"},
}


@dataclass
class OpenIdProvider:
    issuer: str
    process: subprocess.Popen[bytes]
    clients: dict[str, str] = field(default_factory=dict)  # client id -> signing algorithm

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


@contextmanager
def openid_provider(redirect_bases: list[str]) -> Iterator[OpenIdProvider]:
    """Start the provider with two clients (ID tokens signed RS256 and ES256) whose callbacks
    are under `redirect_bases`; stopped on exit. Ready once its discovery document answers."""
    port = free_port()
    clients = {"khutwa": "RS256", "khutwa-es": "ES256"}
    config = {
        "port": port,
        "defaultAccount": "citizen",
        "accounts": ACCOUNTS,
        "clients": [
            {
                "client_id": client_id,
                "client_secret": SECRET,
                "redirect_uris": [f"{base}/oidc/callback/" for base in redirect_bases],
                "post_logout_redirect_uris": [
                    f"{base}/{lang}/" for base in redirect_bases for lang in ("ar", "en")
                ],
                "id_token_signed_response_alg": alg,
            }
            for client_id, alg in clients.items()
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "provider.json"
        config_path.write_text(json.dumps(config))
        log = open(Path(tmp) / "provider.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(  # noqa: S603
            ["node", str(SERVER), str(config_path)],  # noqa: S607
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        provider = OpenIdProvider(issuer=f"http://127.0.0.1:{port}", process=process, clients=clients)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    log.flush()
                    raise RuntimeError(
                        "the OpenID provider stopped: " + (Path(tmp) / "provider.log").read_text()
                    )
                try:
                    if requests.get(provider.discovery_url, timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the OpenID provider did not start within 30 s")
                time.sleep(0.1)
            yield provider
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def through_provider(browser: requests.Session, url: str, *, back_to: str) -> str:
    """Follow the provider's redirects from `url` until one leads back to `back_to` (the Django
    site the test client stands for); that address, as the provider sent it."""
    for _hop in range(20):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code not in (302, 303):
            raise AssertionError(f"the provider answered {response.status_code}: {response.text[:500]}")
        url = urljoin(url, response.headers["Location"])
        if url.startswith(back_to):
            return url
    raise AssertionError("too many redirects at the provider")
