"""Demo documents for `khutwa demo`: the holder's customer book and a few official documents,
issued through the real services (so they are numbered, chained and signed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import mail
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from khutwa.accounts.models import User
from khutwa.documents import services
from khutwa.documents.models import Customer, Document
from khutwa.documents.services import DocumentInput, LineInput

CUSTOMERS: list[dict[str, Any]] = [
    # the `customer` demo account's identity: a Tamkeen customer
    {
        "kind": "individual",
        "cpr": "870303003",
        "name_ar": "يوسف إبراهيم",
        "name_en": "Yousif Ebrahim",
        "address": "Flat 2, Building 1410, Road 3318, Block 933, Riffa",
        "phone": "36001122",
        "is_tamkeen_customer": True,
    },
    {
        "kind": "individual",
        "cpr": "910505005",
        "name_ar": "مريم حسن",
        "name_en": "Maryam Hasan",
        "address": "Building 221, Road 2803, Block 228, Muharraq",
        "phone": "33998877",
    },
    {
        "kind": "business",
        "cr_number": "145678-1",
        "name_ar": "مؤسسة اللؤلؤ للمناسبات",
        "name_en": "Al Lulu Events Est.",
        "address": "Building 57, Road 383, Block 316, Manama",
        "phone": "17001234",
        "is_tamkeen_customer": True,
    },
]


def demo_documents() -> dict[str, int]:
    holder = User.objects.filter(username="holder").first()
    if holder is None or Customer.objects.filter(owner=holder).exists():
        return {"customers": 0, "documents": 0}
    today = timezone.localdate()
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        customers = [services.customer_create(actor=holder, **data) for data in CUSTOMERS]
        yousif, maryam, lulu = customers
        issued = []

        def issue(**kw: Any) -> Document:
            document = services.document_issue(actor=holder, data=DocumentInput(**kw)).document
            issued.append(document)
            return document

        issue(
            type="quotation",
            customer=yousif.pk,
            valid_until=today + dt.timedelta(days=30),
            lines=[
                LineInput(
                    activity="home-meals",
                    description="وجبات غداء لورشة عمل (20 شخصًا) / Workshop lunch, 20 people",
                    quantity="20",
                    unit="piece",
                    unit_price="3.500",
                ),
                LineInput(
                    activity="sewing-abayas",
                    description="عباءة مطرزة / Embroidered abaya",
                    quantity="2",
                    unit="piece",
                    unit_price="45.000",
                    item_code="ABY-EMB-02",
                    brand="Aisha",
                ),
            ],
        )
        invoice = issue(
            type="invoice",
            customer=maryam.pk,
            due_date=today + dt.timedelta(days=14),
            lines=[
                LineInput(
                    activity="home-meals",
                    description="صينية مجبوس دجاج / Chicken machboos tray",
                    quantity="3",
                    unit="piece",
                    unit_price="12.000",
                    discount="1.000",
                )
            ],
        )
        issue(
            type="receipt",
            customer=maryam.pk,
            payment_method="benefitpay",
            payment_reference="BP-DEMO-0001",
            payment_amount="20.000",
            allocations=[(str(invoice.public_id), "20.000")],
        )
        delivery = issue(
            type="delivery_note",
            customer=lulu.pk,
            lines=[
                LineInput(
                    activity="sewing-abayas",
                    description="Table covers for an event",
                    quantity="12",
                    unit="piece",
                    unit_price="4.000",
                    item_code="TBL-12",
                )
            ],
        )
        big = issue(
            type="invoice",
            customer=lulu.pk,
            delivery_notes=[str(delivery.public_id)],
            lines=[
                LineInput(
                    activity="sewing-abayas",
                    description="Table covers for an event",
                    quantity="12",
                    unit="piece",
                    unit_price="4.000",
                    item_code="TBL-12",
                )
            ],
        )
        issue(
            type="credit_note",
            customer=lulu.pk,
            invoice=str(big.public_id),
            reason="One cover returned",
            lines=[
                LineInput(
                    activity="sewing-abayas",
                    description="Table cover returned",
                    quantity="1",
                    unit="piece",
                    unit_price="4.000",
                )
            ],
        )
    mail.outbox = []
    return {"customers": len(customers), "documents": len(issued)}
