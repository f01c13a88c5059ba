"""Payloads, keys and JWKS for the trust tests (deterministic: fixed seeds and ids)."""

from __future__ import annotations

import copy
import hashlib
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from khutwa.trust.canonical import b64url_encode, canonical_json, sha256_hex
from khutwa.trust.seal import key_id
from khutwa.trust.verify import GENESIS_HASH

BASE_URL = "https://khutwa.example.bh"
LICENCE = "KH-2026-000166"


def signing_key(name: str = "test key 1") -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


def jwk(key: Ed25519PrivateKey, status: str = "active", **extra: Any) -> dict[str, Any]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": key_id(key.public_key()),
        "use": "sig",
        "alg": "EdDSA",
        "status": status,
        "created": "2026-01-01T00:00:00Z",
        **extra,
    }


def jwks(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(entries)}


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def make_payload(
    *,
    counter: int = 45,
    previous_hash: str = "9" * 64,
    lines: int = 20,
    doc_type: str = "invoice",
    number: str | None = None,
    licence: str = LICENCE,
    vat_registered: bool = False,
    public_id: str | None = None,
    v: int = 1,
    site: str = BASE_URL,
) -> dict[str, Any]:
    """A realistic payload as the documents app stores it (20 bilingual lines by default):
    payload v1 (sealed KW1) by default, v2 (sealed KW2, with its ``site``) with ``v=2``."""
    prefix = {"quotation": "QUO", "invoice": "INV", "credit_note": "CRN", "delivery_note": "DLV"}.get(
        doc_type, "RCT" if doc_type == "receipt" else "STM"
    )
    line_items = []
    subtotal = Decimal(0)
    vat = Decimal(0)
    for i in range(1, lines + 1):
        quantity = Decimal(i % 7 + 1)
        unit_price = Decimal("1.250") * i
        net = (quantity * unit_price).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        line_vat = (net * Decimal("0.10")).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        if not vat_registered:
            line_vat = Decimal(0)
        subtotal += net
        vat += line_vat
        line_items.append(
            {
                "position": i,
                "activity": "FOOD-SWEETS" if i % 2 else "SEWING",
                "description": f"صينية حلوى بحرينية رقم {i} — Bahraini halwa tray no. {i}",
                "quantity": _money(quantity),
                "unit": "piece",
                "unit_price": _money(unit_price),
                "discount": "0.000",
                "vat_category": "S" if vat_registered else "O",
                "vat_rate": "10.00" if vat_registered else "0.00",
                "item_code": f"HLW-{i:03d}",
                "brand": "أم علي",
                "net": _money(net),
                "vat": _money(line_vat),
            }
        )
    seq = f"{counter:06d}"
    payload: dict[str, Any] = {
        "v": v,
        "type": doc_type,
        "public_id": public_id or str(uuid.UUID(int=counter)),
        "number": number or f"{prefix}-2026-{seq}",
        "issued_at": "2026-11-27T10:15:00+03:00",
        "issue_date": "2026-11-27",
        "currency": "BHD",
        "issuer": {
            "licence": licence,
            "trade_name": "مطبخ أم علي — Umm Ali's Kitchen",
            "vat_number": "200012345600002" if vat_registered else None,
        },
        "customer": {
            "kind": "individual",
            "name_ar": "فاطمة أحمد",
            "name_en": "Fatema Ahmed",
            "cpr": "880512345",
            "cr_number": None,
            "is_tamkeen_customer": True,
        },
        "lines": line_items,
        "subtotal": _money(subtotal),
        "vat": _money(vat),
        "total": _money(subtotal + vat),
        "references": {"quotation": None, "invoice": None, "delivery_notes": []},
        "tamkeen_application_number": "TMK-2026-000031",
        "due_date": "2026-12-27",
        "chain": {"licence": licence, "counter": counter, "previous_hash": previous_hash},
    }
    if v >= 2:
        _to_v2(payload, site)
    return payload


def _to_v2(payload: dict[str, Any], site: str) -> None:
    """The members that payload v2 adds or drops (see /work/notes/payload-v2.md)."""
    names = {"FOOD-SWEETS": ("حلويات", "Sweets"), "SEWING": ("خياطة", "Sewing")}
    payload["site"] = site
    issuer = payload["issuer"]
    issuer["activities"] = sorted(names)
    issuer["activity_names"] = {code: {"ar": ar, "en": en} for code, (ar, en) in names.items()}
    customer = payload["customer"]
    customer.update(address="", vat_number=None, is_tamkeen=False)
    for line in payload["lines"]:
        line.pop("vat")
        line["activity_name_ar"], line["activity_name_en"] = names[line["activity"]]
    category, rate = payload["lines"][0]["vat_category"], payload["lines"][0]["vat_rate"]
    payload["vat_breakdown"] = [
        {"category": category, "rate": rate, "taxable": payload["subtotal"], "vat": payload["vat"]}
    ]
    payload["total_words"] = {"ar": "—", "en": "—"}
    payload["references"]["quotation"] = ""
    payload["references"]["invoice"] = ""


def make_chain(n: int, *, licence: str = LICENCE, lines: int = 2) -> list[dict[str, Any]]:
    """n documents of one licence, counters 1..n, each linked to the previous one."""
    chain: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for counter in range(1, n + 1):
        payload = make_payload(counter=counter, previous_hash=previous, lines=lines, licence=licence)
        chain.append(payload)
        previous = sha256_hex(canonical_json(payload))
    return chain


def relink(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A deep copy of ``chain`` whose previous_hash fields are recomputed in list order."""
    chain = copy.deepcopy(chain)
    previous = GENESIS_HASH
    for payload in chain:
        payload["chain"]["previous_hash"] = previous
        previous = sha256_hex(canonical_json(payload))
    return chain
