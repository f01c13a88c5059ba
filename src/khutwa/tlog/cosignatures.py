"""Receiving witnesses' cosignatures (C2SP tlog-cosignature), a service of the log.

A witness (``khutwa log-witness``) checks that a checkpoint is consistent with the last one it
cosigned and POSTs its cosignature line to ``/api/v1/log/cosignatures``; the log accepts it only
from a key in ``KHUTWA_LOG_WITNESSES`` and only if it verifies over that checkpoint's text, then
serves it with the checkpoint (``selectors.cosigned_note``).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from khutwa.audit.services import audit_record
from khutwa.errors import NotFound, Refused
from khutwa.tlog.keys import witness_verifiers
from khutwa.tlog.models import Checkpoint, Cosignature
from khutwa.tlog.note import NoteError, parse_signature_line, split_note, verify_signature_line

MAX_LINE = 2000


def cosignature_add(*, size: int, line: str, actor: Any = None) -> tuple[Cosignature, bool]:
    """Store a witness's cosignature line of the checkpoint of ``size`` entries; returns
    (the cosignature, whether it is new). The same witness's second cosignature of the same
    checkpoint is not stored again: the first one stands."""
    text = line if line.endswith("\n") else line + "\n"
    if len(text) > MAX_LINE or text.count("\n") != 1:
        raise Refused(_("A cosignature is one signature line."), field="signature", status=400)
    try:
        name, key_id, _signature = parse_signature_line(text)
    except NoteError:
        raise Refused(
            _("A cosignature is a line “— <witness name> <base64 signature>”."), field="signature", status=400
        ) from None
    verifiers = [v for v in witness_verifiers() if v.name == name and v.key_id == key_id]
    if not verifiers:
        raise Refused(_("This key is not one of the log's witnesses."), field="signature", status=403)
    checkpoint = Checkpoint.objects.filter(size=size).first()
    if checkpoint is None:
        raise NotFound(_("There is no checkpoint of this size."), field="size")
    body, _lines = split_note(checkpoint.note)
    try:
        verified = verify_signature_line(body, text, verifiers)
    except NoteError:
        verified = None
    if verified is None or verified.timestamp is None:
        raise Refused(
            _("The cosignature does not verify over this checkpoint."), field="signature", status=400
        )
    existing = Cosignature.objects.filter(checkpoint=checkpoint, witness=name, key_id=key_id.hex()).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            cosignature = Cosignature.objects.create(
                checkpoint=checkpoint,
                witness=name,
                key_id=key_id.hex(),
                timestamp=verified.timestamp,
                line=text,
                received_at=timezone.now(),
            )
            audit_record(
                actor=actor,
                action="tlog.cosignature_add",
                obj=cosignature,
                after={"size": size, "witness": name, "timestamp": verified.timestamp},
            )
    except IntegrityError:  # the same witness, at the same moment, from another request
        return Cosignature.objects.get(checkpoint=checkpoint, witness=name, key_id=key_id.hex()), False
    return cosignature, True
