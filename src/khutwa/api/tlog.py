"""The public transparency log (docs/transparency-log.md): checkpoint, proofs, entries.

Public and rate-limited like verification. Parameters are checked here, not by the schema, so
that a bad one is a 400 problem naming it (in the request's language), as the log's clients
expect; an unknown hash is a 404.
"""

from __future__ import annotations

import base64
import re

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from khutwa.api.errors import ApiProblem
from khutwa.api.schemas import Problem
from khutwa.ratelimit import PurposeThrottle
from khutwa.tlog import selectors

router = Router(tags=["transparency log"])

ERRORS = {400: Problem, 404: Problem, 429: Problem}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_INT = 2**63 - 1


class InclusionOut(Schema):
    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    entry: str  # base64 of the exact entry bytes, as in /entries: the response is a `--log-proof` file


class ConsistencyOut(Schema):
    from_: int = Field(..., alias="from")
    to: int
    hashes: list[str]


class EntryOut(Schema):
    index: int
    kind: str
    entry: str  # base64 of the exact entry bytes
    leaf_hash: str


class EntriesOut(Schema):
    entries: list[EntryOut]


def _bad(field: str, message: str) -> ApiProblem:
    return ApiProblem(400, _("The request has invalid fields."), [{"field": field, "message": message}])


def _whole(request: HttpRequest, name: str, *, minimum: int = 0) -> int:
    text = request.GET.get(name, "").strip()
    if not text:
        raise _bad(name, _("This field is required."))
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not minimum <= int(text) <= _MAX_INT:
        raise _bad(name, _("Enter a whole number of at least %(min)s.") % {"min": minimum})
    return int(text)


def _within_log(name: str, size: int) -> None:
    published = selectors.log_size()
    if size > published:
        raise _bad(
            name,
            _("The log's newest checkpoint has %(size)s entries; ask for a tree of at most that size.")
            % {"size": published},
        )


@router.get(
    "/checkpoint",
    response={200: str, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("log")],
    summary="The newest signed checkpoint (C2SP tlog-checkpoint, text/plain)",
    openapi_extra={"responses": {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}},
)
def checkpoint(request: HttpRequest) -> HttpResponse:
    latest = selectors.checkpoint_latest()
    if latest is None:
        raise ApiProblem(404, _("The log has no checkpoint yet."))
    response = HttpResponse(selectors.checkpoint_note(latest), content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@router.get(
    "/proof/inclusion",
    response={200: InclusionOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("log")],
    summary="An entry (by its leaf hash) and its inclusion proof in the tree of `size` entries",
)
def inclusion(request: HttpRequest) -> InclusionOut:
    leaf_hash = request.GET.get("hash", "").strip().lower()
    if not leaf_hash:
        raise _bad("hash", _("This field is required."))
    if not _HEX64.fullmatch(leaf_hash):
        raise _bad("hash", _("Enter a SHA-256 hash as 64 hexadecimal characters."))
    size = _whole(request, "size", minimum=1)
    _within_log("size", size)
    proof = selectors.inclusion_proof(leaf_hash=leaf_hash, size=size)
    if proof is None:
        raise ApiProblem(404, _("No entry of the log's first %(size)s has this hash.") % {"size": size})
    return InclusionOut(
        index=proof.index,
        tree_size=proof.tree_size,
        leaf_hash=proof.leaf_hash,
        hashes=proof.hashes,
        entry=base64.b64encode(proof.entry.encode()).decode(),
    )


@router.get(
    "/proof/consistency",
    response={200: ConsistencyOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("log")],
    summary="The consistency proof between the trees of `from` and `to` entries",
    by_alias=True,
)
def consistency(request: HttpRequest) -> dict:
    size1 = _whole(request, "from", minimum=1)
    size2 = _whole(request, "to", minimum=1)
    if size1 > size2:
        raise _bad("from", _("“from” must not be larger than “to”."))
    _within_log("to", size2)
    return {"from": size1, "to": size2, "hashes": selectors.consistency_proof(size1=size1, size2=size2)}


@router.get(
    "/entries",
    response={200: EntriesOut, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("log")],
    summary="The entries [start, end) of the log (at most 1000), each as base64 of its exact bytes",
)
def entries(request: HttpRequest) -> EntriesOut:
    start = _whole(request, "start")
    end = _whole(request, "end", minimum=1)
    if end <= start:
        raise _bad("end", _("“end” must be larger than “start”."))
    if end - start > selectors.MAX_ENTRIES:
        raise _bad("end", _("Ask for at most %(max)s entries at a time.") % {"max": selectors.MAX_ENTRIES})
    end = min(end, selectors.log_size())
    return EntriesOut(
        entries=[
            EntryOut(
                index=e.index,
                kind=e.kind,
                entry=base64.b64encode(e.entry.encode()).decode(),
                leaf_hash=e.leaf_hash,
            )
            for e in selectors.entries_range(start=start, end=end)
        ]
    )


_TILE_STEP = re.compile(r"x([0-9]{3})")
_TILE_LAST = re.compile(r"[0-9]{3}")


def _tile_index(parts: list[str]) -> tuple[int, int | None]:
    """``x001/x234/067`` (optionally ``….p/<W>``) → (1234067, W or None); ValueError if malformed."""
    width = None
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        if not re.fullmatch(r"[1-9][0-9]{0,2}", parts[-1]) or int(parts[-1]) >= selectors.TILE_WIDTH:
            raise ValueError("width")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if not parts or len(parts) > 7 or not _TILE_LAST.fullmatch(parts[-1]):
        raise ValueError("index")
    digits = []
    for part in parts[:-1]:
        match = _TILE_STEP.fullmatch(part)
        if not match:
            raise ValueError("index")
        digits.append(match[1])
    return int("".join([*digits, parts[-1]])), width


@router.get(
    "/tile/{path:tile}",
    response={200: bytes, **ERRORS},
    auth=None,
    throttle=[PurposeThrottle("log")],
    summary="C2SP tlog-tiles: a hash tile `<L>/<N>[.p/<W>]` or an entry bundle `entries/<N>[.p/<W>]`",
    openapi_extra={"responses": {200: {"content": {"application/octet-stream": {}}}}},
)
def tile(request: HttpRequest, tile: str) -> HttpResponse:
    head, _slash, rest = tile.partition("/")
    try:
        if head == "entries":
            level = -1
        elif re.fullmatch(r"0|[1-9][0-9]?", head) and int(head) <= 63:
            level = int(head)
        else:
            raise ValueError("level")
        index, width = _tile_index(rest.split("/"))
    except ValueError:
        raise _bad(
            "tile", _("Give a tile path as in C2SP tlog-tiles: <L>/<N>[.p/<W>] or entries/<N>.")
        ) from None
    count = selectors.tile_available(level=level, index=index, width=width)
    if count is None:
        raise ApiProblem(404, _("The log has no such tile yet."))
    if level < 0:
        body = selectors.tile_entries(index=index, width=count)
    else:
        body = selectors.tile_hashes(level=level, index=index, width=count)
    response = HttpResponse(body, content_type="application/octet-stream")
    # A full tile never changes; a partial one is replaced by wider ones as the log grows.
    response["Cache-Control"] = "public, max-age=31536000, immutable" if width is None else "no-cache"
    return response
