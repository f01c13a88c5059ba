import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from khutwa.audit.models import AuditEvent, AuditImmutableError
from khutwa.audit.services import audit_record, audit_verify_chain
from khutwa.audit.triggers import triggers_suspend

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(registrar):
    base = AuditEvent.objects.count()
    for n in range(5):
        audit_record(actor=registrar, action="test.event", obj=registrar, after={"n": n})
    return base + 5


def _disable_triggers() -> None:
    """What someone with the database owner's password could do behind the application."""
    triggers_suspend(connection)


def test_an_intact_chain_verifies(chain, capsys):
    call_command("audit_verify")
    assert f"{chain} events checked" in capsys.readouterr().out


def test_each_event_points_at_its_predecessor(chain):
    events = list(AuditEvent.objects.order_by("id"))
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash


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


def test_a_row_changed_in_sql_is_named_by_audit_verify(chain):
    _disable_triggers()
    target = AuditEvent.objects.order_by("id")[2]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"n": 99}', target.pk])
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert f"event #{target.pk} was altered" in str(exc.value)


def test_a_row_deleted_in_sql_is_named(chain):
    _disable_triggers()
    target = AuditEvent.objects.order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    _checked, broken = audit_verify_chain()
    assert broken is not None
    assert broken.event_id == target.pk
    assert "missing" in broken.reason


def test_events_removed_from_the_end_are_detected(chain):
    _disable_triggers()
    last = AuditEvent.objects.order_by("id").last()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    _, broken = audit_verify_chain()
    assert broken is not None and "removed from the end" in broken.reason


def test_a_forged_event_with_a_recomputed_own_hash_still_breaks_the_next_link(chain):
    from khutwa.audit.hashing import event_hash
    from khutwa.audit.services import event_fields

    _disable_triggers()
    events = list(AuditEvent.objects.order_by("id"))
    target = events[1]
    target.after = {"n": 1000}
    new_hash = event_hash(prev_hash=target.prev_hash, fields=event_fields(target))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET after = %s, hash = %s WHERE id = %s",
            ['{"n": 1000}', new_hash, target.pk],
        )
    _, broken = audit_verify_chain()
    assert broken is not None and broken.event_id == events[2].pk


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
