"""KHUTWA_LOG_WITNESSES: a value that is not a witness's cosigner vkey stops start-up, naming it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from khutwa.tlog.note import Signer
from tests.config.test_settings import _start

# A fixed key: the test's id names its vkey, and every xdist worker must collect the same ids.
WITNESS = Signer("tamkeen.example/witness", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def test_witness_vkeys_are_accepted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Signer("ministry.example/witness", Ed25519PrivateKey.generate())
    result = _start(tmp_path, KHUTWA_LOG_WITNESSES=f"{WITNESS.cosigner_vkey}, {other.cosigner_vkey}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["not-a-vkey", WITNESS.vkey])  # garbage; a note key (type 0x01)
def test_anything_else_stops_start_up(tmp_path, value: str) -> None:  # type: ignore[no-untyped-def]
    result = _start(tmp_path, KHUTWA_LOG_WITNESSES=value)
    assert result.returncode != 0
    assert "KHUTWA_LOG_WITNESSES" in result.stderr and "is not a witness vkey" in result.stderr
