"""POST /api/v1/log/cosignatures: a witness sends its cosignature of a checkpoint (issue 13).

Public (a witness has no account: its key is what is checked, against KHUTWA_LOG_WITNESSES),
rate-limited like verification. The rest of the log's API is in the log's own router.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from khutwa.api.schemas import Problem
from khutwa.ratelimit import PurposeThrottle
from khutwa.tlog.cosignatures import cosignature_add

router = Router(tags=["transparency log"])
ERRORS = {400: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}


class CosignatureIn(Schema):
    size: int = Field(..., ge=0, description="The tree size of the checkpoint cosigned")
    signature: str = Field(
        ...,
        max_length=2000,
        description="The witness's signature line: “— <name> <base64>” (tlog-cosignature)",
    )


class CosignatureOut(Schema):
    size: int
    witness: str
    timestamp: int
    created: bool


@router.post(
    "/cosignatures",
    response={200: CosignatureOut, 201: CosignatureOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("verify")],
    summary="A witness's cosignature of a checkpoint",
)
def cosignature_post(request: HttpRequest, payload: CosignatureIn) -> tuple[int, CosignatureOut]:
    cosignature, created = cosignature_add(size=payload.size, line=payload.signature)
    out = CosignatureOut(
        size=payload.size, witness=cosignature.witness, timestamp=cosignature.timestamp, created=created
    )
    return (201 if created else 200), out
