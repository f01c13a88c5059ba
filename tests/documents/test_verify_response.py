"""`GET /api/v1/verify/<id>` builds its JSON once from the verdict (no pydantic pass on the public
hot path), and the bytes are those ninja wrote from `VerifyOut`: the same fields, order, types and
time format, whatever the verdict and the language; the OpenAPI document still declares VerifyOut."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.db import connection
from freezegun import freeze_time
from ninja.responses import NinjaJSONEncoder

from khutwa.api.documents import IssuerOut, LogOut, VerifyOut, WitnessOut
from khutwa.documents.triggers import triggers_resume, triggers_suspend
from khutwa.documents.verification import Verification, licence_status_at_issue, public_verify
from khutwa.licensing.models import LicenceStatus
from khutwa.tlog.cosignatures import cosignature_add
from khutwa.tlog.note import cosign, split_note
from khutwa.tlog.selectors import checkpoint_latest
from khutwa.tlog.services import sequence_all
from tests.documents.conftest import line
from tests.documents.test_verify_log import WITNESS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    cache.clear()  # the public rate limits
    settings.KHUTWA_LOG_WITNESSES = [WITNESS.cosigner_vkey]


def reference(result: Verification) -> bytes:
    """What the operation returned before (a VerifyOut, dumped and rendered by ninja)."""
    record = result.record
    assert record is not None
    out = VerifyOut(
        valid=result.valid,
        reasons=result.reasons,
        type=record.type,
        number=record.number,
        issued_at=record.issued_at,
        total=record.payload["total"],
        vat=record.payload["vat"],
        hash=record.hash,
        issuer=IssuerOut(
            trade_name=record.payload["issuer"]["trade_name"],
            licence=record.licence_number,
            licence_status_at_issue=licence_status_at_issue(record),
            licence_status_now=result.licence_status_now,
        ),
        credited=result.credited > 0,
        paid=result.paid,
        log=LogOut(
            state=result.log.state,
            index=result.log.index,
            tree_size=result.log.tree_size,
            checkpoint_time=result.log.checkpoint_time,
            witnesses=[
                WitnessOut(name=w.witness, checkpoint_size=w.size, cosigned_at=w.cosigned_at)
                for w in result.log.witnesses
            ],
        )
        if result.log
        else LogOut(state="pending"),
    )
    return json.dumps(out.model_dump(), cls=NinjaJSONEncoder).encode()


def _valid(issue, licence):
    return issue("invoice")


def _credited_and_paid(issue, licence):
    invoice = issue("invoice")
    issue("credit_note", invoice=str(invoice.public_id), reason="Returned", lines=[line(unit_price="0.500")])
    issue("receipt", payment_method="cash", payment_amount="10", allocations=[(str(invoice.public_id), "10")])
    return invoice


def _cancelled_licence(issue, licence):
    invoice = issue("quotation")
    type(licence).objects.filter(pk=licence.pk).update(status=LicenceStatus.CANCELLED)
    return invoice


def _tampered(issue, licence):
    invoice = issue("invoice")
    triggers_suspend(connection)  # the database owner edits rows behind the application
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE documents_document SET payload = %s WHERE id = %s",
                [json.dumps({**invoice.payload, "total": "1.000"}), invoice.pk],
            )
    finally:
        triggers_resume(connection)
    return invoice


def _in_the_log_seen_by_a_witness(issue, licence):
    invoice = issue("invoice")
    sequence_all()
    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    body, _lines = split_note(checkpoint.note)
    cosignature_add(size=checkpoint.size, line=cosign(body, WITNESS, 1_764_633_600))
    return invoice


@pytest.mark.parametrize(
    "make", [_valid, _credited_and_paid, _cancelled_licence, _tampered, _in_the_log_seen_by_a_witness]
)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_response_is_what_verifyout_made(client, issue, licence, make, language):
    document = make(issue, licence)
    response = client.get(f"/api/v1/verify/{document.public_id}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == reference(public_verify(document.public_id))
    # A field added to, dropped from or retyped in VerifyOut (or here) shows as a difference:
    # the body read back through VerifyOut has the same fields in the same order, of the same
    # JSON types, and the same values. Compared as values, not bytes: a time in the first
    # millisecond of its second is written "…:02.000Z" and reads back as one written "…:02Z".
    data = json.loads(response.content)
    again = json.loads(json.dumps(VerifyOut.model_validate(data).model_dump(), cls=NinjaJSONEncoder))
    assert _shape(again) == _shape(data)
    assert VerifyOut.model_validate(again) == VerifyOut.model_validate(data)


def _shape(value):
    """The fields in order and the JSON type of each value, all the way down."""
    if isinstance(value, dict):
        return [(key, _shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize("microsecond", [0, 400, 999_999])
def test_a_time_at_the_edge_of_a_millisecond_reads_back_the_same(client, issue, microsecond):
    # The CI run of 3 December 2026 issued a document at 10:55:02.000xxx: written ".000Z".
    moment = dt.datetime(2026, 12, 3, 10, 55, 2, microsecond, tzinfo=dt.UTC)
    with freeze_time(moment):
        document = issue("invoice")
    response = client.get(f"/api/v1/verify/{document.public_id}")
    assert response.content == reference(public_verify(document.public_id))
    data = json.loads(response.content)
    to_the_millisecond = moment.replace(microsecond=microsecond // 1000 * 1000)
    assert dt.datetime.fromisoformat(data["issued_at"]) == to_the_millisecond
    again = json.loads(json.dumps(VerifyOut.model_validate(data).model_dump(), cls=NinjaJSONEncoder))
    assert VerifyOut.model_validate(again) == VerifyOut.model_validate(data)


def test_the_cases_show_what_they_are_for(client, issue, licence):
    # The scenarios above are not all the same verdict.
    shown = {}
    for make in (_credited_and_paid, _tampered, _in_the_log_seen_by_a_witness, _cancelled_licence):
        document = make(issue, licence)
        shown[make.__name__] = client.get(f"/api/v1/verify/{document.public_id}").json()
    assert shown["_credited_and_paid"]["credited"] is True and shown["_credited_and_paid"]["paid"] is True
    assert shown["_tampered"]["valid"] is False and shown["_tampered"]["reasons"]
    witnessed = shown["_in_the_log_seen_by_a_witness"]["log"]
    assert witnessed["state"] == "included" and witnessed["witnesses"][0]["name"] == WITNESS.name
    assert witnessed["witnesses"][0]["cosigned_at"].endswith("Z")
    assert shown["_cancelled_licence"]["issuer"]["licence_status_now"] == "cancelled"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_an_unknown_document_is_the_same_problem(client, language):
    response = client.get(
        "/api/v1/verify/00000000-0000-0000-0000-000000000000", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404
    assert client.get("/api/v1/verify/not-a-uuid").status_code == 404


def test_the_verdict_is_not_validated_again(client, issue, licence, monkeypatch):
    """No VerifyOut (nor any of its parts) is built per request: the body comes from the verdict."""
    document = issue("invoice")

    def refused(*args, **kwargs):
        raise AssertionError("a pydantic pass over the verdict")

    for schema in (VerifyOut, IssuerOut, LogOut, WitnessOut):
        monkeypatch.setattr(schema, "__init__", refused)
        monkeypatch.setattr(schema, "model_validate", refused)
    response = client.get(f"/api/v1/verify/{document.public_id}")
    assert response.status_code == 200 and json.loads(response.content)["valid"] is True


def test_the_openapi_document_still_declares_verifyout(client):
    schema = client.get("/api/v1/openapi.json").json()
    answer = schema["paths"]["/api/v1/verify/{public_id}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/VerifyOut"}
    assert set(schema["components"]["schemas"]["VerifyOut"]["properties"]) == set(VerifyOut.model_fields)


def test_a_row_checked_before_needs_no_canonical_json_again(client, issue, licence, monkeypatch):
    """The seal check is kept by the payload's exact text (as read by the verdict statement, on
    both engines): the same row again rebuilds neither its canonical JSON nor its facts; an
    altered row is other text (test_verify_reads' kept-check test alters one)."""
    from khutwa.documents import verification

    document = issue("invoice")
    built = []
    original = verification.facts_from_payload

    def counted(payload, kid):
        built.append(kid)
        return original(payload, kid)

    monkeypatch.setattr(verification, "facts_from_payload", counted)
    path = f"/api/v1/verify/{document.public_id}"
    assert client.get(path).json()["valid"] is True
    assert client.get(path).json()["valid"] is True
    assert len(built) == 1
