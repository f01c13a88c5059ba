"""The attacks the log is for: the database owner, triggers off, edits documents behind the
application in ways the chain alone cannot show; the public log shows them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from khutwa.documents import services as document_services
from khutwa.documents.chains import chains_verify
from khutwa.documents.triggers import triggers_resume
from khutwa.tlog import services
from khutwa.tlog import triggers as log_triggers
from khutwa.tlog.models import Entry
from tests.documents.conftest import line
from tests.documents.test_tamper import tamper, walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    triggers_resume(connection)
    log_triggers.triggers_resume(connection)
    cache.clear()


def test_an_intact_log_walks_clean(issue, licence):
    for _ in range(3):
        issue("invoice")
    services.sequence()
    assert walk() == (0, walk()[1])
    assert "documents intact" in walk()[1]


def test_a_dropped_last_document_with_the_chain_resealed_is_caught_by_the_log(issue, licence):
    issue("invoice")
    second, last = issue("invoice"), issue("invoice")
    services.sequence()
    # Drop the last invoice and set the counters back as if it had never been issued: the chain
    # of what remains is whole (counter 2 is the head, its hash the counter's last hash).
    tamper("DELETE FROM documents_documentline WHERE document_id = %s", [last.pk])
    tamper("DELETE FROM documents_document WHERE id = %s", [last.pk])
    tamper(
        "UPDATE documents_documentcounter SET last = %s, last_hash = %s "
        "WHERE licence_id = %s AND type = 'chain'",
        [second.counter, second.hash, licence.pk],
    )
    tamper(
        "UPDATE documents_documentcounter SET last = last - 1 WHERE licence_id = %s AND type = 'invoice'",
        [licence.pk],
    )
    triggers_resume(connection)
    # the chain alone cannot tell
    assert [r.broken for r in chains_verify()] == [None]
    code, out = walk()
    assert code == 1
    assert (
        f"logs document {last.number} ({last.public_id}), which is not stored: a document was dropped" in out
    )


def test_a_backdated_document_inserted_behind_the_service_is_missing_from_the_log(
    client, holder, customer, licence, settings, monkeypatch
):
    settings.KHUTWA_LOG_MAX_MERGE_DELAY_SECONDS = 2
    issued = document_services.document_issue(
        actor=holder,
        data=document_services.DocumentInput(type="invoice", customer=customer.pk, lines=[line()]),
    ).document
    # The database owner writes a document's rows themselves, dated earlier, so no outbox row:
    # what the service writes, without the log's.
    earlier = timezone.now() - dt.timedelta(seconds=5)
    with monkeypatch.context() as patched:
        patched.setattr(document_services, "document_log", lambda **kw: None)
        backdated = document_services.document_issue(
            actor=holder,
            data=document_services.DocumentInput(type="invoice", customer=customer.pk, lines=[line()]),
            now=earlier,
        ).document
    services.sequence()
    assert not Entry.objects.filter(document=backdated).exists()
    data = client.get(f"/api/v1/verify/{backdated.public_id}").json()
    assert data["valid"] is False
    assert "missing from the public log" in data["reasons"]
    assert data["log"]["state"] == "missing"
    page = client.get(f"/en/verify/{backdated.public_id}").content.decode()
    assert 'data-valid="false"' in page and "missing from the public log" in page
    # the honest one next to it is in the log
    assert client.get(f"/api/v1/verify/{issued.public_id}").json()["log"]["state"] == "included"
    code, out = walk()
    assert code == 1
    assert f"document {backdated.number} ({backdated.public_id}) is missing from the public log" in out


def test_a_logged_document_altered_afterwards_is_named(issue, licence):
    invoice = issue("invoice")
    services.sequence()
    tamper("UPDATE documents_document SET hash = %s WHERE id = %s", ["0" * 64, invoice.pk])
    triggers_resume(connection)
    code, out = walk()
    assert code == 1
    assert f"logs document {invoice.number} ({invoice.public_id}) with other facts" in out


def test_a_rewritten_log_entry_is_named(issue, licence):
    issue("invoice")
    services.sequence()
    # the log's own triggers refuse it: the operator switches them off first
    log_triggers.triggers_suspend(connection)
    Entry.objects.filter(index=1).update(entry="khutwa-document/v1\nforged\n")
    log_triggers.triggers_resume(connection)
    code, out = walk()
    assert code == 1
    assert "log: entry 1 does not hash to its leaf hash" in out
    assert "log: the stored entries do not give the root of the checkpoint of size 2" in out
