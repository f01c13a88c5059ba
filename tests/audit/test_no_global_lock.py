"""No global lock on the write path (issue 13): a writer of one chain never waits on another
chain's writer, and the writers of one chain still queue into one linear chain. Shown with
PostgreSQL's row locks, with a lock timeout so that a regression fails fast instead of hanging."""

import itertools
import threading

import pytest
from django.db import connection, transaction

from khutwa.audit.models import AuditEvent, AuditHead
from khutwa.audit.services import audit_record, audit_verify_chains
from khutwa.documents import services
from tests.documents.conftest import line
from tests.licensing.factories import World

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

LOCK_TIMEOUT = "2s"


def _holder_with_customer() -> tuple:
    world = World()
    licence = world.licensed(activities=["home-meals"])
    customer = services.customer_create(
        actor=world.applicant, kind="individual", cpr="870303003", name_en="Customer"
    )
    return world.applicant, customer, licence


def _invoice(holder, customer):
    data = services.DocumentInput(type="invoice", customer=customer.pk, lines=[line()])
    return services.document_issue(actor=holder, data=data).document


class _HeldOpen(threading.Thread):
    """Runs `work` in a transaction and keeps it open (its locks held) until released."""

    def __init__(self, work) -> None:
        super().__init__(daemon=True)
        self.work, self.done, self.release = work, threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.work()
                self.done.set()
                self.release.wait(30)
        except BaseException as exc:
            self.error = exc
            self.done.set()
        finally:
            connection.close()


def _with_lock_timeout(work):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        return work()


def test_issuing_for_one_licence_does_not_wait_on_another_licences_open_transaction():
    first_holder, first_customer, _ = _holder_with_customer()
    second_holder, second_customer, second_licence = _holder_with_customer()
    held = _HeldOpen(lambda: _invoice(first_holder, first_customer))
    held.start()
    assert held.done.wait(30) and held.error is None
    try:
        # With one global head row this waits on the held transaction and fails after 2 s.
        document = _with_lock_timeout(lambda: _invoice(second_holder, second_customer))
    finally:
        held.release.set()
        held.join(30)
    assert document.licence_id == second_licence.pk
    assert held.error is None
    assert AuditEvent.objects.filter(action="documents.invoice.issue").count() == 2
    assert audit_verify_chains()[1] == []


def _append(actor, chain):
    return audit_record(actor=actor, action="test.event", chain=chain)


def test_a_writer_of_one_chain_waits_for_the_holder_of_that_chain(registrar):
    """The converse (so the test above cannot pass for want of any lock): the same chain waits."""
    audit_record(actor=registrar, action="test.event", chain="test:shared")
    held = _HeldOpen(lambda: audit_record(actor=registrar, action="test.event", chain="test:shared"))
    held.start()
    assert held.done.wait(30) and held.error is None
    try:
        with pytest.raises(Exception, match="lock timeout"):
            _with_lock_timeout(
                lambda: audit_record(actor=registrar, action="test.event", chain="test:shared")
            )
        other = _with_lock_timeout(
            lambda: audit_record(actor=registrar, action="test.event", chain="test:other")
        )
    finally:
        held.release.set()
        held.join(30)
    assert (other.chain, other.seq) == ("test:other", 1)
    assert AuditHead.objects.get(chain="test:shared").last_seq == 2


def test_concurrent_writers_of_one_new_chain_stay_linear(registrar):
    """Threads racing to create a chain's head and append to it: seq 1..N, each linked to the last."""
    threads, each = 4, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(10)
            for n in range(each):
                with transaction.atomic():
                    audit_record(actor=registrar, action="test.event", chain="test:race", after={"n": n})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=write) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    events = list(AuditEvent.objects.filter(chain="test:race").order_by("seq"))
    assert [e.seq for e in events] == list(range(1, threads * each + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert AuditHead.objects.filter(chain="test:race").count() == 1
    assert audit_verify_chains()[1] == []
