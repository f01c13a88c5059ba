import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from khutwa.audit.models import AuditEvent, AuditHead, AuditImmutableError
from khutwa.audit.selectors import heads_to_anchor
from khutwa.audit.services import ChainBreak, audit_record, audit_verify_chains, heads_mark_anchored
from khutwa.audit.triggers import triggers_suspend

pytestmark = pytest.mark.django_db


CHAINS = ("test:a", "test:b")


@pytest.fixture
def chain(registrar):
    """Five events on each of two chains (interleaved); the count of every event in the log."""
    for n in range(5):
        for key in CHAINS:
            audit_record(actor=registrar, action="test.event", obj=registrar, after={"n": n}, chain=key)
    return AuditEvent.objects.count()


def _disable_triggers() -> None:
    """What someone with the database owner's password could do behind the application."""
    triggers_suspend(connection)


def _events(key: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(chain=key).order_by("seq"))


def test_an_intact_chain_verifies(chain, capsys):
    call_command("audit_verify")
    assert f"{chain} events checked" in capsys.readouterr().out


@pytest.mark.parametrize("key", CHAINS)
def test_each_event_points_at_its_predecessor_in_its_own_chain(chain, key):
    events = _events(key)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    head = AuditHead.objects.get(chain=key)
    assert (head.last_seq, head.last_hash) == (5, events[-1].hash)


def test_the_hash_covers_the_chain_and_the_place_in_it(chain):
    from khutwa.audit.hashing import event_hash
    from khutwa.audit.services import event_fields

    event = _events("test:a")[2]
    assert event_hash(prev_hash=event.prev_hash, fields=event_fields(event)) == event.hash
    for change in ({"chain": "test:b"}, {"seq": 4}):
        moved = AuditEvent(
            **{**{f.attname: getattr(event, f.attname) for f in AuditEvent._meta.fields}, **change}
        )
        assert event_hash(prev_hash=moved.prev_hash, fields=event_fields(moved)) != event.hash


def test_the_legacy_chain_cannot_be_appended_to(registrar):
    with pytest.raises(ValueError, match="global"):
        audit_record(actor=registrar, action="test.event", chain="global")
    assert not AuditEvent.objects.filter(chain="global").exists()


def test_the_orm_refuses_updates_and_deletes(chain):
    event = AuditEvent.objects.last()
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_updates_and_deletes_in_sql(chain):
    for sql in (
        "UPDATE audit_auditevent SET action = 'forged'",
        "DELETE FROM audit_auditevent",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.filter(action="forged").count() == 0


def _only_broken(key: str) -> ChainBreak:
    """The one break audit-verify finds: in `key`, the other chain intact."""
    _checked, breaks = audit_verify_chains()
    assert [b.chain for b in breaks] == [key]
    return breaks[0]


@pytest.mark.parametrize("key", CHAINS)
def test_a_row_changed_in_sql_is_named_by_audit_verify(chain, key):
    _disable_triggers()
    target = _events(key)[2]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"n": 99}', target.pk])
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert f"chain {key} at #3: event {key} #3 was altered" in str(exc.value)
    assert _only_broken(key).seq == 3


@pytest.mark.parametrize("key", CHAINS)
def test_a_row_deleted_in_sql_is_named(chain, key):
    _disable_triggers()
    target = _events(key)[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    broken = _only_broken(key)
    assert broken.seq == 2
    assert f"event {key} #2 is missing (next present is event {key} #3)" == broken.reason


@pytest.mark.parametrize("key", CHAINS)
def test_events_removed_from_the_end_are_detected(chain, key):
    _disable_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [_events(key)[-1].pk])
    broken = _only_broken(key)
    assert "ends at event" in broken.reason and "removed from the end" in broken.reason
    assert f"its head records event {key} #5" in broken.reason


def test_a_chain_emptied_entirely_is_detected(chain):
    _disable_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = %s", ["test:b"])
    broken = _only_broken("test:b")
    assert "removed from the end" in broken.reason


def test_a_tail_removed_with_its_head_rewound_is_caught_by_the_anchor(chain):
    """The operator deletes the last events and rewinds the head to match: the chain looks whole,
    but the head it last handed to the transparency log is later (docs/scaling.md)."""
    heads_mark_anchored(heads_to_anchor())
    _disable_triggers()
    events = _events("test:a")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[-1].pk, events[-2].pk])
    AuditHead.objects.filter(chain="test:a").update(last_seq=3, last_hash=events[2].hash)
    broken = _only_broken("test:a")
    assert "its transparency log anchor records event test:a #5" in broken.reason


def test_a_tail_rewritten_after_anchoring_is_caught(chain, registrar):
    """Rewriting the anchored event and everything after it, re-hashed: the anchor names another hash."""
    from khutwa.audit.hashing import event_hash
    from khutwa.audit.services import event_fields

    heads_mark_anchored(heads_to_anchor())
    _disable_triggers()
    last = _events("test:b")[-1]
    last.after = {"n": "forged"}
    forged = event_hash(prev_hash=last.prev_hash, fields=event_fields(last))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET after = %s, hash = %s WHERE id = %s",
            ['{"n": "forged"}', forged, last.pk],
        )
    AuditHead.objects.filter(chain="test:b").update(last_hash=forged)
    broken = _only_broken("test:b")
    assert "is not the event its transparency log anchor recorded" in broken.reason


@pytest.mark.parametrize("key", CHAINS)
def test_a_forged_event_with_a_recomputed_own_hash_still_breaks_the_next_link(chain, key):
    from khutwa.audit.hashing import event_hash
    from khutwa.audit.services import event_fields

    _disable_triggers()
    events = _events(key)
    target = events[1]
    target.after = {"n": 1000}
    new_hash = event_hash(prev_hash=target.prev_hash, fields=event_fields(target))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET after = %s, hash = %s WHERE id = %s",
            ['{"n": 1000}', new_hash, target.pk],
        )
    broken = _only_broken(key)
    assert broken.seq == 3 and "does not point at the hash" in broken.reason


def test_verification_walks_in_batches_across_chains(chain):
    """Keyset batches smaller than a chain and than the number of chains give the same answer."""
    _disable_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [_events("test:b")[3].pk])
    checked, breaks = audit_verify_chains(batch_size=1)
    assert [(b.chain, b.seq) for b in breaks] == [("test:b", 4)]
    assert (checked, audit_verify_chains(batch_size=3)[1]) == (chain - 1, breaks)


def test_the_request_id_is_recorded(client, registrar):
    client.force_login(registrar)
    response = client.post(
        "/en/admin/catalogue/publicholiday/add/",
        {"date": "2026-06-16", "name_ar": "رأس السنة الهجرية", "name_en": "Islamic New Year"},
        HTTP_X_REQUEST_ID="req-12345678",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "req-12345678"
    event = AuditEvent.objects.get(action="catalogue.publicholiday.create")
    assert event.request_id == "req-12345678"
