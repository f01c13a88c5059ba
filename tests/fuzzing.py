"""Generated request bodies for the no-5xx tests: valid bodies with some values replaced by
the inputs that used to break things (NaN, Infinity, 10^20, -0, year 9999, 10^30 ids, Unicode
digits that pass str.isdigit() but not int(), very long lists and text), and a snapshot of
everything a write could create or number."""

from __future__ import annotations

import copy
import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

NASTY: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    2**64,
    10**20,
    10**30,
    -(10**30),
    0.5,
    -0.0,
    1e20,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e20",
    "1E+20",
    "100000000000000000000",
    "1" * 30,
    "-0",
    "-0.000",
    "0",
    "0.000",
    "0.0001",
    "1.2345",
    "12.345",
    "99999999999.999",
    "999999999999.999",
    "9999999999999999.999",
    "²",
    "١٢٣",
    "۱۲۳۴",
    "１２３",
    "٣",
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "20260101",
    "",
    " ",
    "\x00",
    "\u202e",
    "x" * 5000,
    "<b>",
    "APP-2026-000001",
    "KH-2026-000001",
    "BH67BMAG00001299123456",
    "00000000-0000-0000-0000-000000000000",
    [],
    {},
    ["²"],
    [10**30],
]

scalar = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(),
    st.floats(),
    st.dates(min_value=dt.date(1, 1, 1)).map(str),
    st.decimals(allow_nan=True, places=4).map(str),
)
value = st.one_of(
    scalar, st.lists(scalar, max_size=4), st.dictionaries(st.text(max_size=8), scalar, max_size=3)
)


def _paths(body: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(body, dict):
        for key, item in body.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(body, list):
        for i, item in enumerate(body):
            paths += _paths(item, (*prefix, i))
    return paths


def _set(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    target = body
    for key in path[:-1]:
        target = target[key]
    if new is _DROP and isinstance(target, dict):
        target.pop(path[-1], None)
    elif new is _DROP:
        target[path[-1]] = None
    else:
        target[path[-1]] = new
    return body


_DROP = object()


@st.composite
def mutated(draw: Any, base: dict[str, Any]) -> Any:
    """The valid `base` with a few values replaced, dropped or multiplied; or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(value)
    body = copy.deepcopy(base)
    paths = _paths(body)
    for _ in range(draw(st.integers(1, 3))):
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        kind = draw(st.integers(0, 9))
        if kind == 0:
            body = _set(body, path, _DROP)
        elif kind == 1:
            # A list made very long (the lines of a document, the claims of a batch...).
            body = _set(body, path, [copy.deepcopy(_get(body, path))] * draw(st.sampled_from([0, 501, 2000])))
        else:
            body = _set(body, path, draw(value))
        paths = _paths(body)
    return body


def _get(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


FUZZ = settings(
    # More in a long run: KHUTWA_FUZZ_EXAMPLES=2000.
    max_examples=int(os.environ.get("KHUTWA_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def snapshot() -> dict[str, Any]:
    """What a write could create or number: row counts and every counter."""
    from khutwa.accounts.models import Enterprise
    from khutwa.approvals.models import InfoRequest, Inspection, Review
    from khutwa.audit.models import AuditEvent
    from khutwa.documents.models import Customer, Document, DocumentCounter, DocumentLine
    from khutwa.licensing.models import Application, Attachment, Counter, Licence
    from khutwa.support.models import Beneficiary, Claim, PayoutBatch, SupportApplication
    from khutwa.webhooks.models import Delivery, Event, Subscription

    counts: dict[str, Any] = {
        model.__name__: model.objects.count()
        for model in (
            Application,
            Attachment,
            Licence,
            Review,
            Inspection,
            InfoRequest,
            Customer,
            Document,
            DocumentLine,
            SupportApplication,
            Claim,
            PayoutBatch,
            Beneficiary,
            Enterprise,
            AuditEvent,
            Subscription,
            Event,
            Delivery,
        )
    }
    counts["counters"] = sorted(Counter.objects.values_list("name", "year", "last"))
    counts["document_counters"] = sorted(
        DocumentCounter.objects.values_list("licence_id", "type", "year", "last")
    )
    return counts
