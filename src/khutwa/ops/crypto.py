"""Encrypting a backup as a stream: AES-256-GCM in 1 MiB segments (the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár, as in age and Tink's streaming AEAD).

File layout::

    MAGIC (12 bytes) | salt (16) | nonce prefix (7) | segment...

A segment is its ciphertext length (4 bytes, big-endian) then AES-GCM(key, nonce, plaintext,
aad=header), where nonce = prefix ‖ segment counter (4 bytes) ‖ last flag (1 byte). The key is
HKDF-SHA256(master key, salt), so two backups never share a key. Changing, dropping, repeating,
reordering or cutting segments makes decryption fail: each segment authenticates its position
and the last one says it is last.
"""

from __future__ import annotations

import base64
import os
import secrets
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"KHUTWA-BK-1\n"
SEGMENT = 1 << 20
_HEADER = len(MAGIC) + 16 + 7
_TAG = 16


class BackupCryptoError(Exception):
    """The backup cannot be decrypted: wrong key, not a Khutwa backup, or altered."""


def new_key() -> str:
    """A fresh master key, as KHUTWA_BACKUP_KEY takes it (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, TypeError):
        key = b""
    if len(key) != 32:
        raise BackupCryptoError(
            "KHUTWA_BACKUP_KEY must be 32 bytes in URL-safe base64 (`khutwa backup --new-key` makes one)."
        )
    return key


def _segment_key(master: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"khutwa backup v1").derive(master)
    return AESGCM(derived)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Yields (segment, is_last); the last segment may be empty (an empty input)."""
    current = source.read(SEGMENT)
    while True:
        following = source.read(SEGMENT)
        if not following:
            yield current, True
            return
        yield current, False
        current = following


def encrypt(source: BinaryIO, target: BinaryIO, master: bytes) -> None:
    salt, prefix = os.urandom(16), os.urandom(7)
    header = MAGIC + salt + prefix
    aead = _segment_key(master, salt)
    target.write(header)
    for counter, (chunk, last) in enumerate(_chunks(source)):
        if counter >= 2**32 - 1:
            raise BackupCryptoError("backup too large for one stream")
        sealed = aead.encrypt(_nonce(prefix, counter, last), chunk, header)
        target.write(struct.pack(">I", len(sealed)))
        target.write(sealed)


def decrypt(source: BinaryIO, target: BinaryIO, master: bytes) -> None:
    header = source.read(_HEADER)
    if len(header) != _HEADER or not header.startswith(MAGIC):
        raise BackupCryptoError("not a Khutwa backup (its first bytes are not a Khutwa backup header)")
    salt, prefix = header[len(MAGIC) : len(MAGIC) + 16], header[len(MAGIC) + 16 :]
    aead = _segment_key(master, salt)
    counter = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise BackupCryptoError("the backup is cut short (its last segment is missing)")
        (size,) = struct.unpack(">I", size_bytes)
        if size < _TAG or size > SEGMENT + _TAG:
            raise BackupCryptoError("the backup is damaged (a segment has an impossible length)")
        sealed = source.read(size)
        if len(sealed) != size:
            raise BackupCryptoError("the backup is cut short (a segment is incomplete)")
        for last in (False, True):
            try:
                chunk = aead.decrypt(_nonce(prefix, counter, last), sealed, header)
            except InvalidTag:
                continue
            break
        else:
            raise BackupCryptoError(
                "the backup cannot be decrypted: wrong KHUTWA_BACKUP_KEY, or it was altered"
            )
        target.write(chunk)
        counter += 1
        if last:
            if source.read(1):
                raise BackupCryptoError("the backup is damaged (data after its last segment)")
            return
