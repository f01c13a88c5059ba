"""Bank files of a payout batch. Exporting again yields the same file: what pays (and what
cannot be paid twice) is the batch being marked paid, once."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F

from khutwa.support.models import PayoutBatch
from khutwa.support.payments import Batch, Debtor, Payment, pain001_xml, payments_csv


def _batch(batch: PayoutBatch) -> Batch:
    payouts = batch.payouts.select_related("claim__application").order_by("id")
    return Batch(
        message_id=batch.reference,
        created_at=batch.created_at.astimezone(dt.UTC),
        execution_date=batch.execution_date,
        debtor=Debtor(
            name="Labour Fund (Tamkeen)", iban=settings.KHUTWA_TAMKEEN_IBAN, bic=settings.KHUTWA_TAMKEEN_BIC
        ),
        payments=[
            Payment(
                end_to_end_id=f"{batch.reference}-{p.claim_id}"[:35],
                creditor_name=p.creditor_name,
                creditor_iban=p.iban,
                amount=p.amount,
                remittance=f"Tamkeen support {p.claim.application.reference}",
            )
            for p in payouts
        ],
    )


def batch_pain001_xml(batch: PayoutBatch) -> bytes:
    PayoutBatch.objects.filter(pk=batch.pk).update(exported_count=F("exported_count") + 1)
    return pain001_xml(_batch(batch))


def batch_csv_text(batch: PayoutBatch) -> str:
    PayoutBatch.objects.filter(pk=batch.pk).update(exported_count=F("exported_count") + 1)
    return payments_csv(_batch(batch))
