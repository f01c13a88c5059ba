"""Offline verification with nothing but the platform's public keys (a JWKS file).

The PDF's signature is checked as of the time its time-stamps prove it was made, with the
certificates and CRLs it carries, against the roots in ``x5c_roots`` (``x5c_root`` in older
files) and, for time-stamps of an external TSA, ``x5c_tsa_roots``: a PDF stays valid after its
signing certificate expired.

    khutwa verify FILE.pdf --keys khutwa-keys.json [--site https://khutwa.example.bh]
    khutwa verify --qr 'https://…/verify/…?s=…&g=…' --keys khutwa-keys.json [--site URL]
    khutwa verify FILE.pdf --keys khutwa-keys.json --log-proof proof.json --checkpoint checkpoint.txt

With ``--log-proof`` and ``--checkpoint`` the document must also be in the public transparency
log: the checkpoint's signature is checked against the log key of the JWKS (``tlog``), then the
inclusion proof of the document's entry; witnesses' cosignatures are reported
(docs/transparency-log.md, "Checking offline").

With ``--site`` (the official site), a document signed for another site is invalid (KW2 seals,
payload v2, sign their site; for a KW1 QR the URL's unsigned site is checked).

Exit status: 0 valid, 1 invalid, 2 unusable input (a PDF that cannot be checked: not a
readable PDF, or over the limits of `khutwa.trust.sandbox` on time, memory, unpacked size).
"""

import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandParser

from khutwa.trust.seal import Facts
from khutwa.trust.verify import reason_other_site, verify_document, verify_qr

_UNCHECKABLE = {
    "timeout": "reading it took longer than 5 seconds",
    "memory": "reading it needed more than 256 MB of memory",
    "crashed": "reading it failed (the reader stopped)",
    "inflated": "its compressed content unpacks to more than 64 MB",
    "unreadable": "it is not a readable PDF file",
}


def _seal_line(facts: Facts | None, *, qr: bool) -> str:
    if facts is not None and facts.site is not None:
        return f"seal KW2: signed for the site {facts.site}, public id {facts.public_id}"
    if qr:
        return "seal KW1: the QR's site and public id are not signed"
    return "seal KW1: the site is not sealed"


def _certificates(values: Any) -> list[Any]:
    """X.509 certificates from a JWKS list of base64 DER strings."""
    import base64
    import binascii

    from cryptography import x509

    if not isinstance(values, list):
        raise ValueError("x5c_roots and x5c_tsa_roots must be lists")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(value, validate=True)) for value in values]
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"a root certificate is not base64 DER: {exc}") from None


class Command(BaseCommand):
    help = "Verify a Khutwa document offline from its PDF or its QR content, with only a JWKS file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the document's PDF")
        parser.add_argument("--qr", help="the content of the document's QR code")
        parser.add_argument("--keys", required=True, help="the JWKS file (/.well-known/khutwa-keys.json)")
        parser.add_argument(
            "--site", help="the official site, e.g. https://khutwa.example.bh: refuse documents of another"
        )
        parser.add_argument(
            "--log-proof", help="the inclusion proof of the document's log entry (JSON, with the entry)"
        )
        parser.add_argument("--checkpoint", help="the log's checkpoint (signed note) the proof leads to")

    def _exit(self, code: int, lines: list[str]) -> None:
        for line in lines:
            (self.stdout if code == 0 else self.stderr).write(line)
        sys.exit(code)

    def _load_log(self, log_proof: str | None, checkpoint: str | None) -> None:
        self._log: tuple[Any, str] | None = None
        if log_proof is None and checkpoint is None:
            return
        if log_proof is None or checkpoint is None:
            self._exit(2, ["give both --log-proof FILE and --checkpoint FILE"])
        try:
            proof = json.loads(Path(log_proof or "").read_text())
            note = Path(checkpoint or "").read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            self._exit(2, [f"unusable log proof or checkpoint: {exc}"])
        self._log = (proof, note)

    def _with_log(
        self,
        valid: bool,
        lines: list[str],
        jwks: dict[str, Any],
        number: str,
        hash: str,
        public_id: str | None,
    ) -> tuple[bool, list[str]]:
        """The verdict and lines, with the log's inclusion when --log-proof was given."""
        if self._log is None:
            return valid, lines
        from khutwa.tlog.offline import Unusable, check_inclusion

        proof, note = self._log
        try:
            check = check_inclusion(
                proof=proof, checkpoint_note=note, jwks=jwks, number=number, hash=hash, public_id=public_id
            )
        except Unusable as exc:
            self._exit(2, [f"unusable log proof: {exc}"])
        head = lines[0] if check.valid or not valid else lines[0].replace("VALID", "INVALID", 1)
        return valid and check.valid, [head, *lines[1:], *check.lines()]

    def handle(
        self,
        *args: Any,
        file: str | None,
        qr: str | None,
        keys: str,
        site: str | None = None,
        log_proof: str | None = None,
        checkpoint: str | None = None,
        **options: Any,
    ) -> None:
        try:
            jwks = json.loads(Path(keys).read_text())
        except (OSError, ValueError) as exc:
            self._exit(2, [f"unusable keys file: {exc}"])
        if bool(file) == bool(qr):
            self._exit(2, ["give either a PDF file or --qr CONTENT"])
        self._load_log(log_proof, checkpoint)
        if qr:
            result = verify_qr(qr, jwks, expected_base_url=site)
            if result.facts is None:
                self._exit(2 if any("malformed" in r for r in result.reasons) else 1, result.reasons)
            facts = result.facts
            assert facts is not None  # noqa: S101 - just checked
            lines = [
                f"{'VALID' if result.valid else 'INVALID'}: {facts.type} {facts.number}",
                f"issuer licence {facts.licence}, date {facts.date}",
                f"total {facts.total} BHD, VAT {facts.vat} BHD",
                f"sha256 {facts.hash}, key {facts.kid} ({result.key_status or 'unknown'})",
                _seal_line(facts, qr=True),
                *(f"reason: {r}" for r in result.reasons),
            ]
            valid, lines = self._with_log(
                result.valid, lines, jwks, facts.number, facts.hash, facts.public_id
            )
            self._exit(0 if valid else 1, lines)
        from khutwa.trust import sandbox

        try:
            pdf = Path(file or "").read_bytes()
        except OSError as exc:
            self._exit(2, [f"cannot read {file}: {exc}"])
        if not pdf.startswith(b"%PDF"):
            self._exit(2, [f"{file} is not a PDF"])
        try:
            roots = _certificates(jwks.get("x5c_roots") or ([jwks["x5c_root"]] if "x5c_root" in jwks else []))
            tsa_roots = _certificates(jwks.get("x5c_tsa_roots", []))
        except ValueError as exc:
            self._exit(2, [f"unusable keys file: {exc}"])
        # As of signing time, with what the PDF carries: its time-stamps and validation data;
        # parsed in a child process with limits on time, memory and unpacked size.
        der = serialization.Encoding.DER
        try:
            reading = sandbox.read_pdf(
                pdf,
                trust_roots=[c.public_bytes(der) for c in roots],
                tsa_roots=[c.public_bytes(der) for c in tsa_roots],
            )
        except sandbox.Uncheckable as exc:
            self._exit(2, [f"{file} cannot be checked: {_UNCHECKABLE.get(exc.kind, exc.kind)}"])
        signed = reading.signature
        raw = reading.payload
        if raw is None:
            self._exit(2, ["the PDF carries no Khutwa document payload"])
        try:
            carried = json.loads(raw or b"")
            payload, signature, kid = carried["payload"], carried["signature"], carried["kid"]
            if not isinstance(payload, dict) or not isinstance(payload.get("issuer", {}), dict):
                raise TypeError("payload")
            result = verify_document(payload, signature, kid, jwks)
        except (ValueError, KeyError, TypeError, AttributeError):
            self._exit(2, ["the Khutwa payload in the PDF is unreadable"])
        reasons = list(result.reasons)
        other_site = site is not None and result.signed_site not in (None, site.rstrip("/"))
        if other_site:
            reasons.append(reason_other_site(result.signed_site, (site or "").rstrip("/")))
        reasons.extend(signed.reasons)
        valid = result.valid and signed.ok and not other_site
        issuer = payload.get("issuer", {})
        lines = [
            f"{'VALID' if valid else 'INVALID'}: {payload.get('type')} {payload.get('number')}",
            f"issuer {issuer.get('trade_name')} licence {issuer.get('licence')}",
            f"date {payload.get('issue_date')}",
            f"total {payload.get('total')} BHD, VAT {payload.get('vat')} BHD",
            f"PDF signature: {'valid' if signed.valid else 'invalid'}, "
            f"{'unchanged' if signed.intact else 'CHANGED after signing'}, "
            f"{'chains to the Khutwa root' if signed.trusted else 'not trusted'}",
            _seal_line(result.facts, qr=False),
            f"PAdES {signed.level or 'unknown'}, "
            + (
                f"signed at {signed.signed_at.isoformat()} (time-stamped)"
                if signed.signed_at
                else "signing time not time-stamped"
            ),
            *(f"reason: {r}" for r in reasons),
        ]
        facts = result.facts
        valid, lines = self._with_log(
            valid,
            lines,
            jwks,
            str(payload.get("number")),
            facts.hash if facts is not None else "",
            str(payload.get("public_id")) if payload.get("public_id") else None,
        )
        self._exit(0 if valid else 1, lines)
