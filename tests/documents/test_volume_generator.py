"""The bulk generator of `bench/volume.py` makes rows that the real verifier accepts."""

import datetime as dt

import bench.volume
import pytest
from bench.volume import Volume
from django.db.models import Count
from django.utils import timezone

from khutwa.documents.balances import balances_problems
from khutwa.documents.chains import chains_verify
from khutwa.documents.models import Document, DocumentCounter, DocumentLine, DocumentType, InvoiceBalance
from khutwa.documents.services import DocumentInput, document_issue
from khutwa.documents.verification import document_verify
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def volume(db, monkeypatch):
    monkeypatch.setattr(bench.volume, "ROUND", 25)  # several rounds: workers keep chains between them
    volume = Volume.create(licences=6, big_holders=2)
    end = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    middle = end - dt.timedelta(days=100)
    # Sealed in two forked processes, inserted here.
    volume.add(60, big_each=15, workers=2, start=end - dt.timedelta(days=365), end=middle)
    assert volume.workers == 2
    assert volume.worker_cpu_seconds > 0
    volume.add(40, big_each=5, workers=1, start=middle, end=end)  # made here, continues every chain
    return volume


def test_generated_documents_pass_the_verifier_and_the_chain_walk(volume):
    assert Document.objects.count() == 100
    assert DocumentLine.objects.count() >= 100
    for document in Document.objects.all():
        assert document_verify(document).reasons == [], document.number
    reports = list(chains_verify())
    assert [r for r in reports if r.broken is not None] == []
    assert sum(r.checked for r in reports) == 100
    assert volume.check_sample(10) == []
    # The balances' triggers fired for the bulk rows too (COPY / executemany).
    assert InvoiceBalance.objects.count() == Document.objects.filter(type=DocumentType.INVOICE).count() > 0
    assert balances_problems() == []


def test_numbers_are_gapless_per_licence_type_and_year_and_counters_match(volume):
    per_key = (
        Document.objects.values("licence", "type", "issue_date__year").annotate(n=Count("id")).order_by()
    )
    for row in per_key:
        counter = DocumentCounter.objects.get(
            licence_id=row["licence"], type=row["type"], year=row["issue_date__year"]
        )
        assert counter.last == row["n"]
        numbers = sorted(
            int(n.rsplit("-", 1)[1])
            for n in Document.objects.filter(
                licence_id=row["licence"], type=row["type"], issue_date__year=row["issue_date__year"]
            ).values_list("number", flat=True)
        )
        assert numbers == list(range(1, row["n"] + 1))
    big = volume.big[0].licence
    assert Document.objects.filter(licence=big).count() == 20
    for licence_id in Document.objects.values_list("licence", flat=True).distinct():
        chain = list(
            Document.objects.filter(licence_id=licence_id)
            .order_by("counter")
            .values_list("counter", "issued_at", "id")
        )
        assert [c for c, _at, _id in chain] == list(range(1, len(chain) + 1))
        assert [at for _c, at, _id in chain] == sorted(
            at for _c, at, _id in chain
        )  # chain order is time order
        assert [i for _c, _at, i in chain] == sorted(i for _c, _at, i in chain)  # and id order


def test_the_service_issues_on_after_generated_documents(volume):
    """The counters are left as the service leaves them: the next real issue chains on."""
    chain = volume.big[0]
    holder = chain.licence.holder
    issued = document_issue(
        actor=holder,
        data=DocumentInput(type=DocumentType.INVOICE, customer=chain.customers[1].pk, lines=[line()]),
    ).document
    assert issued.counter == 21
    assert issued.previous_hash == Document.objects.get(licence=chain.licence, counter=20).hash
    assert document_verify(issued).reasons == []
