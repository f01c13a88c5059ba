"""`khutwa verify --log-proof --checkpoint`: a document's inclusion in the log, checked offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from khutwa.documents.pdf import document_pdf, qr_of
from khutwa.tlog import selectors
from khutwa.tlog.cosignatures import cosignature_add
from khutwa.tlog.models import Entry
from khutwa.tlog.note import Signer, cosign, split_note
from khutwa.tlog.services import sequence_all

WITNESS = Signer("tamkeen.example/witness", Ed25519PrivateKey.generate())


@pytest.fixture(autouse=True)
def _witness(settings):  # type: ignore[no-untyped-def]
    settings.KHUTWA_LOG_WITNESSES = [WITNESS.cosigner_vkey]


def _files(client, tmp_path: Path, document, *, cosigned: bool = True) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    """The JWKS, the inclusion proof and the cosigned checkpoint, as files: the API's responses
    saved as they are (the proof's response carries the entry; no jq, no second request)."""
    sequence_all()
    checkpoint = selectors.checkpoint_latest()
    assert checkpoint is not None
    if cosigned:
        body, _lines = split_note(checkpoint.note)
        cosignature_add(size=checkpoint.size, line=cosign(body, WITNESS, 1_764_633_600))
    entry = Entry.objects.get(document=document)
    keys, proof_file, note_file = tmp_path / "keys.json", tmp_path / "proof.json", tmp_path / "checkpoint.txt"
    keys.write_bytes(client.get("/.well-known/khutwa-keys.json").content)
    note_file.write_bytes(client.get("/api/v1/log/checkpoint").content)
    size = int(note_file.read_text().split("\n")[1])
    response = client.get("/api/v1/log/proof/inclusion", {"hash": entry.leaf_hash, "size": size})
    assert response.status_code == 200
    proof_file.write_bytes(response.content)
    return keys, proof_file, note_file


def _verify(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        call_command("verify", *args)
    return int(exit_.value.code or 0)


def test_the_qr_and_the_pdf_are_shown_in_the_log_seen_by_the_witness(client, issue, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    issue("quotation")
    invoice = issue("invoice")
    issue("delivery_note")
    keys, proof, note = _files(client, tmp_path, invoice)
    log_args = ("--keys", str(keys), "--log-proof", str(proof), "--checkpoint", str(note))
    assert _verify("--qr", qr_of(invoice), *log_args) == 0
    out = capsys.readouterr().out
    entry, size = Entry.objects.get(document=invoice), Entry.objects.count()
    assert (
        f"log: entry {entry.index} of the log's checkpoint of {size} entries, inclusion proof verified" in out
    )
    assert "log: seen by witness tamkeen.example/witness (cosigned 2025-12-02T00:00:00Z)" in out
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(document_pdf(invoice))
    assert _verify(str(pdf), *log_args) == 0
    assert "inclusion proof verified" in capsys.readouterr().out


def test_a_proof_of_another_document_or_a_forged_checkpoint_is_invalid(  # type: ignore[no-untyped-def]
    client, issue, tmp_path, capsys
) -> None:
    invoice, other = issue("invoice"), issue("invoice")
    keys, proof, note = _files(client, tmp_path, other, cosigned=False)
    log_args = ("--keys", str(keys), "--log-proof", str(proof), "--checkpoint", str(note))
    assert _verify("--qr", qr_of(invoice), *log_args) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID") and "the proven entry is another document" in err
    # the right document, but a checkpoint re-signed by someone else's key
    keys, proof, note = _files(client, tmp_path, invoice, cosigned=False)
    body, _lines = split_note(note.read_text())
    impostor = Signer(body.split("\n")[0], Ed25519PrivateKey.generate())
    note.write_text(body + "\n" + impostor.signature_line(body))
    assert _verify("--qr", qr_of(invoice), *log_args) == 1
    assert "the checkpoint does not verify with the log's key" in capsys.readouterr().err
    # a checkpoint with another root, correctly shaped and signed by the log, for the same size
    from khutwa.tlog.keys import log_signer
    from khutwa.tlog.note import Checkpoint, checkpoint_body, sign_note

    size = int(body.split("\n")[1])
    forged = checkpoint_body(Checkpoint(log_signer().name, size, hashlib.sha256(b"forged").digest()))
    note.write_text(sign_note(forged, [log_signer()]))
    assert _verify("--qr", qr_of(invoice), *log_args) == 1
    assert "does not lead to the checkpoint's root" in capsys.readouterr().err


@pytest.mark.parametrize(
    "problem",
    ["only --log-proof", "not json", "no entry"],
)
def test_unusable_log_files_exit_2(client, issue, tmp_path, capsys, problem) -> None:  # type: ignore[no-untyped-def]
    invoice = issue("invoice")
    keys, proof, note = _files(client, tmp_path, invoice, cosigned=False)
    args = ["--qr", qr_of(invoice), "--keys", str(keys), "--log-proof", str(proof), "--checkpoint", str(note)]
    if problem == "only --log-proof":
        args = args[:-2]
    elif problem == "not json":
        proof.write_text("{not json")
    else:
        data = json.loads(proof.read_text())
        del data["entry"]
        proof.write_text(json.dumps(data))
    assert _verify(*args) == 2
    assert "log" in capsys.readouterr().err
