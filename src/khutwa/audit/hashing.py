"""The canonical content of an audit event and its hash (pure functions, no database)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(*, prev_hash: str, fields: dict[str, Any]) -> str:
    payload = canonical_json({"prev": prev_hash, **fields})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
