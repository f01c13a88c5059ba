"""Signed notes, checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint, tlog-cosignature).

A signed note is a text ending in a newline, a blank line, then one or more signature lines
``— <key name> base64(4-byte key id ‖ signature)``. The log signs its checkpoints with an
Ed25519 key (signature type 0x01); a witness adds a timestamped cosignature (type 0x04) over
``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint's text. A verifier knows keys by their
*vkey* ``<name>+<hex key id>+base64(type ‖ public key)``; signatures by keys it does not know
are ignored, a bad signature by a key it knows refuses the whole note.

Pure Python (``cryptography`` only); no Django import, so that anyone can check a checkpoint
offline with this one file. The formats are explained in docs/transparency-log.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "Checkpoint",
    "NoteError",
    "Signature",
    "Signer",
    "Verifier",
    "add_signature_lines",
    "checkpoint_body",
    "compute_key_id",
    "cosign",
    "cosigned_message",
    "open_note",
    "open_note_signatures",
    "parse_checkpoint_body",
    "parse_signature_line",
    "split_note",
    "verify_signature_line",
]

ED25519 = 0x01  # signed-note: Ed25519 over the note text
COSIGNATURE_V1 = 0x04  # tlog-cosignature: timestamped Ed25519 cosignature
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 1 << 20
MAX_TIMESTAMP = (1 << 63) - 1
DASH = "\u2014"  # em dash
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A malformed note, or a signature by a known key that does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """The three lines of a tlog-checkpoint: the log's origin, the tree size and its root hash."""

    origin: str
    size: int
    root: bytes


def checkpoint_body(cp: Checkpoint) -> str:
    """The note text of a checkpoint: origin, size and base64 root, each line ending in "\\n"."""
    if not _valid_name_like(cp.origin) or cp.size < 0 or len(cp.root) != 32:
        raise NoteError("invalid checkpoint: origin, size or root hash")
    return f"{cp.origin}\n{cp.size}\n{base64.b64encode(cp.root).decode('ascii')}\n"


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Read a checkpoint's note text; extension lines (opaque, non-empty) are allowed and ignored."""
    if not text.endswith("\n") or _CONTROL.search(text):
        raise NoteError("checkpoint text must end in a newline and hold no control characters")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise NoteError("a checkpoint has at least three non-empty lines")
    origin, size_text, root_text = lines[:3]
    if not _SIZE.fullmatch(size_text):
        raise NoteError("checkpoint tree size is not a decimal number without leading zeroes")
    root = _b64decode(root_text)
    if root is None or len(root) != 32:
        raise NoteError("checkpoint root hash is not the base64 of 32 bytes")
    return Checkpoint(origin=origin, size=int(size_text), root=root)


def _valid_name_like(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def compute_key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """C2SP key id: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _vkey(name: str, sig_type: int, public_key: bytes) -> str:
    key_id = compute_key_id(name, sig_type, public_key)
    material = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{name}+{key_id.hex()}+{material}"


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


class Signer:
    """A named Ed25519 private key: the log's key (type 0x01) or a witness's (type 0x04)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        if not _valid_name_like(name):
            raise NoteError("a key name must be non-empty, without spaces or '+'")
        self.name = name
        self.key = key
        self.public_bytes = _raw(key.public_key())

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id of this key's Ed25519 note signatures (type 0x01)."""
        return compute_key_id(self.name, ED25519, self.public_bytes)

    @property
    def vkey(self) -> str:
        """The verifier key of this key's Ed25519 note signatures."""
        return _vkey(self.name, ED25519, self.public_bytes)

    @property
    def cosigner_key_id(self) -> bytes:
        """The 4-byte key id of this key's cosignatures (type 0x04)."""
        return compute_key_id(self.name, COSIGNATURE_V1, self.public_bytes)

    @property
    def cosigner_vkey(self) -> str:
        """The verifier key of this key's cosignatures: what a witness publishes."""
        return _vkey(self.name, COSIGNATURE_V1, self.public_bytes)

    def signature_line(self, body: str) -> str:
        """One signature line (type 0x01) over a note text."""
        _check_text(body)
        signature = self.key.sign(body.encode("utf-8"))
        return _line(self.name, self.key_id + signature)


@dataclass(frozen=True)
class Verifier:
    """A public key a client trusts, read from its vkey."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a vkey is <name>+<key id hex>+<base64 key>")
        name, id_hex, material_text = parts
        if not _valid_name_like(name) or not re.fullmatch(r"[0-9a-f]{8}", id_hex):
            raise NoteError("a vkey needs a name without spaces and an 8-digit hex key id")
        material = _b64decode(material_text)
        if material is None or len(material) != 33 or material[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("a vkey's key must be type 0x01 or 0x04 followed by 32 bytes (Ed25519)")
        key_id = bytes.fromhex(id_hex)
        if compute_key_id(name, material[0], material[1:]) != key_id:
            raise NoteError("the vkey's key id does not match its name and key")
        return cls(name, key_id, material[0], Ed25519PublicKey.from_public_bytes(material[1:]))

    @property
    def vkey(self) -> str:
        return _vkey(self.name, self.sig_type, _raw(self.public_key))

    @property
    def is_cosigner(self) -> bool:
        return self.sig_type == COSIGNATURE_V1

    def verify(self, body: str, signature: bytes) -> int | None:
        """Check a signature (without its key id) over ``body``; raises ``NoteError`` if bad.

        Returns the cosignature's timestamp for a cosigner key, None for a note key.
        """
        if self.sig_type == COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                raise NoteError(f"cosignature by {self.name} has the wrong length")
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                raise NoteError(f"cosignature by {self.name} has an impossible timestamp")
            message = cosigned_message(body, timestamp)
            raw, result = signature[8:], timestamp
        else:
            if len(signature) != 64:
                raise NoteError(f"signature by {self.name} has the wrong length")
            message, raw, result = body.encode("utf-8"), signature, None
        try:
            self.public_key.verify(raw, message)
        except InvalidSignature:
            raise NoteError(f"the signature by {self.name} does not verify") from None
        return result


@dataclass(frozen=True)
class Signature:
    """A verified signature line of a note: by whom, and when for a cosignature."""

    name: str
    key_id: bytes
    is_cosignature: bool
    timestamp: int | None
    line: str


def _line(name: str, payload: bytes) -> str:
    return f"{DASH} {name} {base64.b64encode(payload).decode('ascii')}\n"


def _check_text(body: str) -> None:
    if not body.endswith("\n"):
        raise NoteError("a note text must end in a newline")
    if _CONTROL.search(body):
        raise NoteError("a note must hold no control characters other than newline")


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 signs: the header, the time line, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(body: str, witness: Signer, timestamp: int) -> str:
    """A witness's cosignature line (tlog-cosignature v1, type 0x04) over a checkpoint's text."""
    _check_text(body)
    parse_checkpoint_body(body)
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError("a cosignature timestamp is between 0 and 2^63-1")
    signature = witness.key.sign(cosigned_message(body, timestamp))
    return _line(witness.name, witness.cosigner_key_id + timestamp.to_bytes(8, "big") + signature)


def sign_note(body: str, signers: Sequence[Signer]) -> str:
    """The signed note: the text, a blank line, one signature line per signer (type 0x01)."""
    if not signers:
        raise NoteError("a note needs at least one signature")
    return body + "\n" + "".join(signer.signature_line(body) for signer in signers)


def parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """``— <name> <base64>`` (with or without its newline) → (name, key id, signature)."""
    text = line[:-1] if line.endswith("\n") else line
    prefix = DASH + " "
    if not text.startswith(prefix):
        raise NoteError("a signature line starts with an em dash and a space")
    name, sep, encoded = text[len(prefix) :].rpartition(" ")
    if not sep or not _valid_name_like(name):
        raise NoteError("a signature line is '— <key name> <base64 signature>'")
    payload = _b64decode(encoded)
    if payload is None or len(payload) < 5:
        raise NoteError("a signature is the base64 of a 4-byte key id and a signature")
    return name, payload[:4], payload[4:]


def split_note(note: str) -> tuple[str, list[str]]:
    """A signed note → (its text, its signature lines each ending in "\\n"); raises NoteError."""
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteError("the note is too large")
    if _CONTROL.search(note):
        raise NoteError("a note must be valid UTF-8 with no control characters other than newline")
    if not note.endswith("\n"):
        raise NoteError("a note ends in a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a text, a blank line and signature lines")
    body, signatures = note[: split + 1], note[split + 2 :]
    lines = [line + "\n" for line in signatures[:-1].split("\n")]
    if not signatures or len(lines) > MAX_SIGNATURES:
        raise NoteError("a note has between one and 100 signature lines")
    for line in lines:
        parse_signature_line(line)
    return body, lines


def verify_signature_line(body: str, line: str, verifiers: Iterable[Verifier]) -> Signature | None:
    """Check one signature line against the known keys: None if by an unknown key.

    Raises ``NoteError`` if the line is malformed or a known key's signature does not verify.
    """
    name, key_id, signature = parse_signature_line(line)
    for verifier in verifiers:
        if verifier.name == name and verifier.key_id == key_id:
            timestamp = verifier.verify(body, signature)
            text = line if line.endswith("\n") else line + "\n"
            return Signature(name, key_id, verifier.is_cosigner, timestamp, text)
    return None


def open_note_signatures(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[Signature]]:
    """Verify a note: (its text, its signatures by known keys); raises ``NoteError``.

    Signatures by unknown keys are ignored (even one that shares a name or a key id with a
    known key, but not both); a known key's failing signature refuses the note; so does a note
    with no verified signature.
    """
    known = list(verifiers)
    body, lines = split_note(note)
    verified: list[Signature] = []
    for line in lines:
        signature = verify_signature_line(body, line, known)
        if signature is not None:
            verified.append(signature)
    if not verified:
        raise NoteError("no signature by a known key")
    return body, verified


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """Verify a note: (its text, the names of the keys whose signatures verified)."""
    body, signatures = open_note_signatures(note, verifiers)
    names: list[str] = []
    for signature in signatures:
        if signature.name not in names:
            names.append(signature.name)
    return body, names


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """The note with more signature lines (cosignatures) appended, each once."""
    _body, existing = split_note(note)
    extra = [line if line.endswith("\n") else line + "\n" for line in lines]
    out = note
    for line in extra:
        parse_signature_line(line)
        if line not in existing:
            existing.append(line)
            out += line
    return out
