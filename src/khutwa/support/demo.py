"""Demo data for Tamkeen support, through the real services: programmes of several kinds (one
paused), beneficiaries of both kinds, applications and claims in many states, budgets partly used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from khutwa.accounts.models import User
from khutwa.catalogue.models import ActivityCategory, LicenceTier
from khutwa.documents import services as docs
from khutwa.documents.models import Customer, Document
from khutwa.support import services
from khutwa.support.models import Programme, ProgrammeCap, SupportApplication

PROGRAMMES: list[dict[str, Any]] = [
    {
        "code": "business-development",
        "name_ar": "دعم تطوير الأعمال",
        "name_en": "Business development support",
        "kind": "equipment",
        "rate": "0.500",
        "budget": "50000.000",
        "beneficiaries": "both",
        "description_ar": "50% من تكلفة المعدات والمستلزمات من أصحاب القيد.",
        "description_en": "50% of the cost of equipment and supplies bought from licence holders.",
        "caps": {"basic": "1000.000", "standard": "2500.000", "extended": "5000.000"},
    },
    {
        "code": "cloud-services",
        "name_ar": "دعم الخدمات السحابية",
        "name_en": "Cloud services support",
        "kind": "cloud",
        "rate": "1.000",
        "budget": "10000.000",
        "beneficiaries": "holders",
        "requires_quotation": False,
        "description_ar": "100% من اشتراكات الخدمات السحابية لأصحاب القيد.",
        "description_en": "100% of cloud subscriptions for licence holders.",
        "caps": {"basic": "300.000", "standard": "600.000", "extended": "900.000"},
    },
    {
        "code": "marketing",
        "name_ar": "دعم التسويق",
        "name_en": "Marketing support",
        "kind": "marketing",
        "rate": "0.500",
        "budget": "20000.000",
        "beneficiaries": "both",
        "paused": True,
        "description_ar": "متوقف مؤقتًا منذ 15 يناير 2026 لإعادة التصميم.",
        "description_en": "Paused since 15 January 2026 for a redesign.",
        "caps": {"basic": "500.000", "standard": "1000.000", "extended": "2000.000"},
    },
    {
        "code": "training",
        "name_ar": "دعم التدريب",
        "name_en": "Training support",
        "kind": "training",
        "rate": "0.750",
        "budget": "15000.000",
        "beneficiaries": "both",
        "description_ar": "75% من رسوم الدورات التدريبية.",
        "description_en": "75% of training course fees.",
        "caps": {"basic": "400.000", "standard": "800.000", "extended": "1200.000"},
    },
    {
        "code": "supplier-direct",
        "name_ar": "دعم المشتريات من الأسر المنتجة",
        "name_en": "Productive-home purchases support",
        "kind": "equipment",
        "rate": "0.700",
        "budget": "30000.000",
        "beneficiaries": "customers",
        "split_invoicing": True,
        "description_ar": "تدفع تمكين 70% مباشرة إلى صاحب القيد بفاتورة مستقلة، ويدفع العميل الباقي.",
        "description_en": "Tamkeen pays 70% straight to the licence holder on its own invoice; the customer "
        "pays the rest.",
        "caps": {"basic": "700.000", "standard": "1400.000", "extended": "2800.000"},
    },
]


def demo_support() -> dict[str, int]:
    if Programme.objects.exists():
        return {"programmes": 0, "applications": 0}
    holder = User.objects.filter(username="holder").first()
    customer = User.objects.filter(username="customer").first()
    officer = User.objects.filter(username="tamkeen-officer").first()
    finance = User.objects.filter(username="tamkeen-finance").first()
    if not all((holder, customer, officer, finance)):
        return {"programmes": 0, "applications": 0}
    assert holder and customer and officer and finance  # noqa: S101 - for the type checker
    today = timezone.localdate()
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        for spec in PROGRAMMES:
            programme = Programme.objects.create(
                code=spec["code"],
                name_ar=spec["name_ar"],
                name_en=spec["name_en"],
                kind=spec["kind"],
                description_ar=spec["description_ar"],
                description_en=spec["description_en"],
                open_from=dt.date(today.year - 1, 1, 1),
                budget=Decimal(spec["budget"]),
                rate=Decimal(spec["rate"]),
                beneficiaries=spec["beneficiaries"],
                is_paused=spec.get("paused", False),
                requires_quotation=spec.get("requires_quotation", True),
                split_invoicing=spec.get("split_invoicing", False),
            )
            for tier, cap in spec["caps"].items():
                ProgrammeCap.objects.create(
                    programme=programme, tier=LicenceTier.objects.get(code=tier), cap=Decimal(cap)
                )
            programme.eligible_categories.set(ActivityCategory.objects.exclude(code="trade"))
        book = Customer.objects.get(owner=holder, cpr=customer.cpr)
        quotation = Document.objects.filter(licence__holder=holder, type="quotation", customer=book).first()
        created = 0
        if quotation is not None:
            # `customer` has an approved application on holder's quotation (API.md).
            approved = services.application_create(
                actor=customer, programme_code="business-development", quotation_ref=str(quotation.public_id)
            )
            services.application_decide(actor=officer, application=approved, decision="approve")
            created += 1
            # A second quotation, invoiced, paid and claimed; verified and paid out in a batch.
            q2 = _quotation(holder, book, "Catering for a Tamkeen-funded workshop", "60.000")
            training = services.application_create(
                actor=customer, programme_code="training", quotation_ref=str(q2.public_id)
            )
            services.application_decide(actor=officer, application=training, decision="approve")
            invoice = docs.document_issue(
                actor=holder,
                data=docs.DocumentInput(
                    type="invoice",
                    customer=book.pk,
                    quotation=str(q2.public_id),
                    tamkeen_application_number=training.reference,
                    lines=[
                        docs.LineInput(
                            activity="home-meals",
                            description="Catering for a Tamkeen-funded workshop",
                            quantity="1",
                            unit_price="60.000",
                        )
                    ],
                ),
            ).document
            receipt = docs.document_issue(
                actor=holder,
                data=docs.DocumentInput(
                    type="receipt",
                    customer=book.pk,
                    payment_method="bank_transfer",
                    payment_reference="TRF-DEMO-77",
                    payment_amount="60.000",
                    allocations=[(str(invoice.public_id), "60.000")],
                ),
            ).document
            claim = services.claim_submit(
                actor=customer,
                application=training,
                document_refs=[str(invoice.public_id), str(receipt.public_id)],
            )
            services.claim_decide(actor=officer, claim=claim, decision="approve")
            services.beneficiary_set_iban(actor=customer, iban="BH67BMAG00001299123456")
            batch = services.batch_create(actor=finance, claim_ids=[claim.pk])
            services.batch_mark_paid(actor=finance, batch=batch)
            created += 1
        created += _every_state(holder, officer, finance)
        created += _business(holder, officer)
        # The holder as a beneficiary of the cloud programme, submitted.
        services.application_create(actor=holder, programme_code="cloud-services")
        created += 1
    return {"programmes": len(PROGRAMMES), "applications": created}


def _quotation(holder: User, book: Customer, text: str, price: str) -> Document:
    return docs.document_issue(
        actor=holder,
        data=docs.DocumentInput(
            type="quotation",
            customer=book.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[
                docs.LineInput(
                    activity="home-meals" if "Catering" in text else "sewing-abayas",
                    description=text,
                    quantity="1",
                    unit_price=price,
                )
            ],
        ),
    ).document


def _business(holder: User, officer: User) -> int:
    """A restaurant buying from `holder` as a Tamkeen customer: its CR checked by the officer,
    a split-invoicing application approved, both invoices issued and a claim awaiting the
    officer; and a second business still waiting for its CR to be checked."""
    from khutwa.accounts.roles import Role
    from khutwa.accounts.services import user_set_roles

    users = []
    for username, cpr, name_en, name_ar, cr in (
        ("demo-business", "860600001", "Al Dar Restaurant", "مطعم الدار", "145678-1"),
        ("demo-business-pending", "860600002", "Sitra Bakery", "مخبز سترة", "152233-1"),
    ):
        user = User.objects.create(username=username, cpr=cpr, first_name=name_en, name_ar=name_ar)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
        services.enterprise_register(actor=user, cr_number=cr, name_ar=name_ar, name_en=name_en)
        users.append(user)
    restaurant = users[0]
    services.enterprise_decide(actor=officer, enterprise=restaurant.enterprise, decision="verify")
    restaurant = User.objects.get(pk=restaurant.pk)
    entry = Customer.objects.filter(owner=holder, cr_number="145678-1").first() or docs.customer_create(
        actor=holder, kind="business", cr_number="145678-1", name_en="Al Dar Restaurant", name_ar="مطعم الدار"
    )
    quotation = _quotation(holder, entry, "Catering for a staff training week", "300.000")
    application = services.application_create(
        actor=restaurant, programme_code="supplier-direct", quotation_ref=str(quotation.public_id)
    )
    services.application_decide(actor=officer, application=application, decision="approve")
    tamkeen_part, customer_part = services.split_invoice(actor=holder, quotation=quotation)
    receipt = docs.document_issue(
        actor=holder,
        data=docs.DocumentInput(
            type="receipt",
            customer=entry.pk,
            payment_method="bank_transfer",
            payment_reference="TRF-DAR-1",
            payment_amount=str(customer_part.document.total),
            allocations=[(str(customer_part.document.public_id), str(customer_part.document.total))],
        ),
    ).document
    services.claim_submit(
        actor=restaurant,
        application=application,
        document_refs=[
            str(tamkeen_part.document.public_id),
            str(customer_part.document.public_id),
            str(receipt.public_id),
        ],
    )
    return 1


STATES = [
    "submitted",
    "in_review",
    "info_requested",
    "approved",
    "rejected",
    "claimed",
    "verified",
    "paid",
    "closed",
    "cancelled",
    "expired",
]


def _every_state(holder: User, officer: User, finance: User) -> int:
    """One Tamkeen customer per state (data-only accounts: no usable password), each buying
    from `holder` and driven through the real services to that state."""
    from khutwa.accounts.roles import Role
    from khutwa.accounts.services import user_set_roles

    count = 0
    for i, state in enumerate(STATES):
        cpr = f"86050{i:04d}"
        user = User.objects.create(
            username=f"demo-beneficiary-{i + 1:02d}",
            cpr=cpr,
            first_name=f"Beneficiary {i + 1}",
            name_ar=f"مستفيد {i + 1}",
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
        services.beneficiary_set_iban(actor=user, iban="BH67BMAG00001299123456")
        entry = docs.customer_create(
            actor=holder,
            kind="individual",
            cpr=cpr,
            name_en=f"Beneficiary {i + 1}",
            name_ar=f"مستفيد {i + 1}",
            is_tamkeen_customer=True,
        )
        price = f"{40 + 10 * i}.000"
        quotation = _quotation(holder, entry, "Catering for a training day", price)
        application = services.application_create(
            actor=user, programme_code="business-development", quotation_ref=str(quotation.public_id)
        )
        count += 1
        if state == "submitted":
            continue
        if state in ("in_review", "info_requested"):
            services.application_decide(
                actor=officer,
                application=application,
                decision="request_info",
                reason="Please confirm the event date.",
            )
            if state == "in_review":
                services.application_answer(actor=user, application=application, answer="It is on the 12th.")
            continue
        if state == "rejected":
            services.application_decide(
                actor=officer,
                application=application,
                decision="reject",
                reason="The equipment is for personal use.",
            )
            continue
        services.application_decide(actor=officer, application=application, decision="approve")
        if state == "approved":
            continue
        if state == "cancelled":
            services.application_cancel(actor=user, application=application)
            continue
        if state == "expired":
            SupportApplication.objects.filter(pk=application.pk).update(
                expires_on=timezone.localdate() - dt.timedelta(days=1)
            )
            services.applications_expire()
            continue
        invoice = docs.document_issue(
            actor=holder,
            data=docs.DocumentInput(
                type="invoice",
                customer=entry.pk,
                quotation=str(quotation.public_id),
                tamkeen_application_number=application.reference,
                lines=[
                    docs.LineInput(
                        activity="home-meals",
                        description="Catering for a training day",
                        quantity="1",
                        unit_price=price,
                    )
                ],
            ),
        ).document
        receipt = docs.document_issue(
            actor=holder,
            data=docs.DocumentInput(
                type="receipt",
                customer=entry.pk,
                payment_method="benefitpay",
                payment_reference=f"BP-{cpr}",
                payment_amount=price,
                allocations=[(str(invoice.public_id), price)],
            ),
        ).document
        claim = services.claim_submit(
            actor=user,
            application=application,
            document_refs=[str(invoice.public_id), str(receipt.public_id)],
        )
        if state == "claimed":
            continue
        services.claim_decide(actor=officer, claim=claim, decision="approve")
        if state == "verified":
            continue
        batch = services.batch_create(actor=finance, claim_ids=[claim.pk])
        services.batch_mark_paid(actor=finance, batch=batch)
        if state == "closed":
            services.application_close(actor=officer, application=application)
    return count
