"""Signed notes, checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint, tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from khutwa.tlog.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    add_signature_lines,
    checkpoint_body,
    cosign,
    open_note,
    open_note_signatures,
    parse_checkpoint_body,
    sign_note,
)

# The example of c2sp.org/signed-note ("Verifier keys", "Example").
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
ROOT = hashlib.sha256(b"root").digest()


def _signer(name: str = "khutwa.example/log") -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


def _body(size: int = 5, origin: str = "khutwa.example/log") -> str:
    return checkpoint_body(Checkpoint(origin=origin, size=size, root=ROOT))


def test_the_specs_example_note_verifies_with_its_vkey() -> None:
    body, names = open_note(SPEC_NOTE, [Verifier.from_vkey(SPEC_VKEY)])
    assert body == "This is an example message.\n"
    assert names == ["example.com/foo"]


def test_the_specs_example_refused_when_its_text_changes() -> None:
    with pytest.raises(NoteError, match="does not verify"):
        open_note(SPEC_NOTE.replace("example message", "example massage"), [Verifier.from_vkey(SPEC_VKEY)])


def test_key_id_and_vkey_follow_the_spec() -> None:
    signer = _signer()
    expected = hashlib.sha256(b"khutwa.example/log\n\x01" + signer.public_bytes).digest()[:4]
    assert signer.key_id == expected
    material = base64.b64encode(b"\x01" + signer.public_bytes).decode()
    assert signer.vkey == f"khutwa.example/log+{expected.hex()}+{material}"
    cosigner_id = hashlib.sha256(b"khutwa.example/log\n\x04" + signer.public_bytes).digest()[:4]
    assert signer.cosigner_key_id == cosigner_id
    assert Verifier.from_vkey(signer.vkey).key_id == expected
    assert Verifier.from_vkey(signer.cosigner_vkey).is_cosigner


def test_checkpoint_round_trip_through_a_signed_note() -> None:
    signer = _signer()
    note = sign_note(_body(), [signer])
    assert note.startswith("khutwa.example/log\n5\n" + base64.b64encode(ROOT).decode() + "\n\n\u2014 ")
    body, names = open_note(note, [Verifier.from_vkey(signer.vkey)])
    assert names == ["khutwa.example/log"]
    assert parse_checkpoint_body(body) == Checkpoint("khutwa.example/log", 5, ROOT)


@settings(max_examples=50, deadline=None)
@given(
    origin=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="+"), min_size=1),
    size=st.integers(min_value=0, max_value=2**64),
    root=st.binary(min_size=32, max_size=32),
)
def test_checkpoint_body_round_trips(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    assert parse_checkpoint_body(checkpoint_body(cp)) == cp


def test_unknown_keys_are_ignored_even_sharing_a_name() -> None:
    log, stranger = _signer(), _signer()  # same name, another key: another key id
    note = sign_note(_body(), [stranger, log])
    assert open_note(note, [Verifier.from_vkey(log.vkey)])[1] == ["khutwa.example/log"]
    other = _signer("someone.else/key")
    note = sign_note(_body(), [log, other])
    assert open_note(note, [Verifier.from_vkey(log.vkey)])[1] == ["khutwa.example/log"]


def test_a_note_with_no_known_signature_is_refused() -> None:
    note = sign_note(_body(), [_signer()])
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(note, [Verifier.from_vkey(_signer().vkey)])


def test_a_bad_signature_by_a_known_key_refuses_the_whole_note() -> None:
    log, witness = _signer(), _signer("witness.example/w1")
    good = sign_note(_body(), [log])
    forged_line = sign_note(_body(size=6), [witness]).split("\n\n")[1]  # a valid line over another text
    note = add_signature_lines(good, [forged_line])
    verifiers = [Verifier.from_vkey(log.vkey), Verifier.from_vkey(witness.vkey)]
    with pytest.raises(NoteError, match=r"witness\.example/w1 does not verify"):
        open_note(note, verifiers)
    # the same note is accepted by a client that does not know the witness
    assert open_note(note, verifiers[:1])[1] == ["khutwa.example/log"]


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no blank line\n\u2014 a AAAAAAA=\n",
        "text\n\n",  # no signature lines
        "text\n\n\u2014 name\n",  # no signature
        "text\n\n- name AAAAAAAA\n",  # hyphen, not em dash
        "text\n\n\u2014 name not*base64\n",
        "text\n\n\u2014 name AAAA\n",  # fewer than 5 bytes
        "text\n\n\u2014 na+me AAAAAAAA\n",  # '+' in a key name
        "text\n\n\u2014 name AAAAAAAA",  # no final newline
        "te\x07xt\n\n\u2014 name AAAAAAAA\n",  # a control character
        "text\n\n\u2014 name AAAAAAAA\n\n",  # a blank line among the signatures
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [Verifier.from_vkey(SPEC_VKEY)])


@pytest.mark.parametrize(
    "body",
    [
        "origin\n5\n",  # two lines
        "origin\n05\n" + base64.b64encode(ROOT).decode() + "\n",  # leading zero
        "origin\n-1\n" + base64.b64encode(ROOT).decode() + "\n",
        "origin\n5\n" + base64.b64encode(ROOT[:31]).decode() + "\n",  # 31 bytes
        "origin\n5\n" + base64.b64encode(ROOT).decode(),  # no final newline
        "origin\n5\n" + base64.b64encode(ROOT).decode() + "\n\nextension\n",  # empty line
    ],
)
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint_body(body)


def test_extension_lines_are_allowed_in_a_checkpoint() -> None:
    assert parse_checkpoint_body(_body() + "ext one\n").size == 5


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903a",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # other name
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",  # short key
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_a_cosignature_verifies_with_its_timestamp() -> None:
    log, witness = _signer(), _signer("witness.example/w1")
    body = _body()
    line = cosign(body, witness, 1_764_633_600)
    note = add_signature_lines(sign_note(body, [log]), [line])
    verifiers = [Verifier.from_vkey(log.vkey), Verifier.from_vkey(witness.cosigner_vkey)]
    _text, signatures = open_note_signatures(note, verifiers)
    assert [(s.name, s.is_cosignature, s.timestamp) for s in signatures] == [
        ("khutwa.example/log", False, None),
        ("witness.example/w1", True, 1_764_633_600),
    ]
    payload = base64.b64decode(line.split()[-1])
    assert payload[:4] == witness.cosigner_key_id
    assert int.from_bytes(payload[4:12], "big") == 1_764_633_600
    signed = b"cosignature/v1\ntime 1764633600\n" + body.encode()
    witness.key.public_key().verify(payload[12:], signed)  # raises if not the spec's message


def test_a_cosignature_over_a_different_checkpoint_is_refused() -> None:
    log, witness = _signer(), _signer("witness.example/w1")
    line = cosign(_body(size=6), witness, 1_764_633_600)
    note = add_signature_lines(sign_note(_body(size=5), [log]), [line])
    verifiers = [Verifier.from_vkey(log.vkey), Verifier.from_vkey(witness.cosigner_vkey)]
    with pytest.raises(NoteError, match=r"witness\.example/w1 does not verify"):
        open_note(note, verifiers)


def test_a_cosignature_is_not_a_note_signature() -> None:
    """The same key as type 0x01 has another key id: its cosignature is an unknown signature."""
    log, witness = _signer(), _signer("witness.example/w1")
    note = add_signature_lines(sign_note(_body(), [log]), [cosign(_body(), witness, 1)])
    verifiers = [Verifier.from_vkey(log.vkey), Verifier.from_vkey(witness.vkey)]
    assert open_note(note, verifiers)[1] == ["khutwa.example/log"]


def test_add_signature_lines_adds_each_line_once() -> None:
    log, witness = _signer(), _signer("witness.example/w1")
    line = cosign(_body(), witness, 7)
    note = add_signature_lines(sign_note(_body(), [log]), [line, line])
    assert note.count("witness.example/w1") == 1
    assert add_signature_lines(note, [line]) == note
