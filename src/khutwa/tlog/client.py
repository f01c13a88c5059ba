"""A client of a Khutwa log's public HTTP API, for monitors and witnesses (no Django).

``LogClient(site_url)`` reads ``<site>/api/v1/log/checkpoint``, the consistency proofs, the
entries, the public verification of a document and the JWKS, and posts cosignatures. Every
answer is checked for shape; what it *means* is checked by ``khutwa.tlog.monitor``.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests

__all__ = ["ENTRIES_PAGE", "ClientError", "LogClient", "LogEntry", "LogSource"]

ENTRIES_PAGE = 1000  # the most entries the log returns at once
MAX_NOTE = 1 << 20


class ClientError(Exception):
    """The log could not be read (network, HTTP status, or an answer of the wrong shape)."""


@dataclass(frozen=True)
class LogEntry:
    index: int
    kind: str
    data: bytes  # the exact bytes the leaf hash is computed over
    leaf_hash: bytes  # as the log states it (the monitor recomputes it)


class LogSource(Protocol):
    """What monitors and witnesses need from a log (``LogClient`` over HTTP, or a test double)."""

    url: str

    def checkpoint(self) -> str: ...
    def consistency(self, size1: int, size2: int) -> list[bytes]: ...
    def entries(self, start: int, end: int) -> list[LogEntry]: ...
    def document(self, public_id: str) -> dict[str, Any] | None: ...
    def post_cosignature(self, size: int, line: str) -> dict[str, Any]: ...
    def jwks(self) -> dict[str, Any]: ...


def _hex(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise ClientError(f"{what} is not a hex hash") from None
    if len(raw) != 32:
        raise ClientError(f"{what} is not 32 bytes")
    return raw


class LogClient:
    """The log of the Khutwa site at ``url`` (e.g. ``https://khutwa.bh``)."""

    def __init__(self, url: str, *, timeout: float = 30.0, retries: int = 5) -> None:
        if not url.startswith(("http://", "https://")):
            raise ClientError(f"the log's address must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "khutwa-log-client/1"

    def _get(
        self, path: str, params: dict[str, Any] | None = None, *, ok404: bool = False
    ) -> requests.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self.session.get(self.url + path, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                raise ClientError(f"cannot reach {self.url}{path}: {exc}") from None
            if response.status_code == 429 and attempt < self.retries:
                time.sleep(min(float(response.headers.get("Retry-After", "1") or 1), 30.0))
                continue
            if ok404 and response.status_code == 404:
                return response
            if response.status_code != 200:
                raise ClientError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
            return response
        raise ClientError(f"GET {path}: still rate-limited")  # pragma: no cover

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"{response.url}: not JSON") from None

    def checkpoint(self) -> str:
        response = self._get("/api/v1/log/checkpoint")
        if len(response.content) > MAX_NOTE:
            raise ClientError("the checkpoint is too large")
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientError("the checkpoint is not UTF-8") from None

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        body = self._json(self._get("/api/v1/log/proof/consistency", {"from": size1, "to": size2}))
        hashes = body.get("hashes") if isinstance(body, dict) else None
        if not isinstance(hashes, list):
            raise ClientError("the consistency proof has no list of hashes")
        return [_hex(value, "a proof hash") for value in hashes]

    def entries(self, start: int, end: int) -> list[LogEntry]:
        body = self._json(self._get("/api/v1/log/entries", {"start": start, "end": end}))
        items = body.get("entries") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ClientError("the entries answer has no list of entries")
        out = []
        for item in items:
            try:
                data = base64.b64decode(item["entry"], validate=True)
                out.append(
                    LogEntry(
                        int(item["index"]), str(item["kind"]), data, _hex(item["leaf_hash"], "a leaf hash")
                    )
                )
            except (KeyError, TypeError, ValueError, binascii.Error):
                raise ClientError("an entry is not {index, kind, entry, leaf_hash}") from None
        return out

    def document(self, public_id: str) -> dict[str, Any] | None:
        response = self._get(f"/api/v1/verify/{public_id}", ok404=True)
        if response.status_code == 404:
            return None
        body = self._json(response)
        if not isinstance(body, dict):
            raise ClientError("the verification answer is not an object")
        return body

    def post_cosignature(self, size: int, line: str) -> dict[str, Any]:
        try:
            response = self.session.post(
                self.url + "/api/v1/log/cosignatures",
                json={"size": size, "signature": line},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ClientError(f"cannot reach {self.url}: {exc}") from None
        if response.status_code not in (200, 201):
            raise ClientError(
                f"the log refused the cosignature: HTTP {response.status_code}: {response.text[:300]}"
            )
        body = self._json(response)
        return body if isinstance(body, dict) else {}

    def jwks(self) -> dict[str, Any]:
        body = self._json(self._get("/.well-known/khutwa-keys.json"))
        if not isinstance(body, dict):
            raise ClientError("the JWKS is not an object")
        return body
