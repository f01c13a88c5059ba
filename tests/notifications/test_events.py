"""Each event reaches the right person once, by the channels they chose, in their language, from a
background task after the transaction commits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from khutwa import sms
from khutwa.approvals.models import Review
from khutwa.documents import services as docs
from khutwa.licensing import services as licensing
from khutwa.licensing.models import Licence, Notice
from khutwa.notifications.models import Sent
from khutwa.notifications.services import licence_expiry_reminders_send, preference_update
from khutwa.support import services as support
from tests.documents.conftest import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(django_capture_on_commit_callbacks, run_tasks):  # type: ignore[no-untyped-def]
    """Run `action` committing, check nothing went out before the worker ran, run the worker."""

    def _deliver(action):  # type: ignore[no-untyped-def]
        mail.outbox.clear()
        sms.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        assert mail.outbox == [] and sms.outbox == []  # nothing is sent in the request
        run_tasks()
        return result

    return _deliver


def _with_mobile(user, phone="33123456"):  # type: ignore[no-untyped-def]
    user.phone = phone
    user.save(update_fields=["phone"])
    return user


# Applications -------------------------------------------------------------------------------


def test_application_received_in_arabic_by_default_by_email_and_sms(world, deliver):
    _with_mobile(world.applicant)
    app = deliver(world.submitted)
    [message] = mail.outbox
    assert message.to == [app.email]
    assert message.subject == f"خطوة: استلمنا طلبك {app.reference}"
    assert f"/ar/applications/{app.pk}/" in message.body and "/ar/account/notifications/" in message.body
    [text] = sms.outbox
    assert text.to == "+97333123456" and app.reference in text.text and "استلمنا" in text.text


def test_english_when_chosen(world, deliver):
    preference_update(actor=world.applicant, by_email=True, by_sms=False, language="en")
    app = deliver(world.submitted)
    [message] = mail.outbox
    assert message.subject == f"Khutwa: we received your application {app.reference}"
    assert f"/en/applications/{app.pk}/" in message.body
    assert sms.outbox == []


def test_channels_off_send_nothing_but_the_notice_is_kept(world, deliver):
    _with_mobile(world.applicant)
    preference_update(actor=world.applicant, by_email=False, by_sms=False, language="ar")
    app = deliver(world.submitted)
    assert mail.outbox == [] and sms.outbox == []
    assert DBTaskResult.objects.count() == 0
    assert Notice.objects.filter(user=world.applicant, application=app).count() == 1


def test_sms_only(world, deliver):
    _with_mobile(world.applicant)
    preference_update(actor=world.applicant, by_email=False, by_sms=True, language="en")
    app = deliver(world.submitted)
    assert mail.outbox == []
    assert [m.text for m in sms.outbox] == [
        f"Khutwa: we received your application {app.reference}. http://127.0.0.1:8000/en/applications/{app.pk}/"
    ]


def test_nothing_is_sent_when_the_transaction_rolls_back(
    world, django_capture_on_commit_callbacks, run_tasks
):
    _with_mobile(world.applicant)
    app = world.draft()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        licensing.application_submit(actor=world.applicant, application=app)
        raise RuntimeError("rolled back")
    run_tasks()
    assert mail.outbox == [] and sms.outbox == []
    assert not Notice.objects.filter(application=app).exists()


def test_information_requested_names_the_body_and_what_to_provide(world, deliver):
    app = world.in_review()
    review = Review.objects.filter(application=app, body__code="municipality").get()
    deliver(lambda: world.decide(review, "request_info", reason="مخطط المنزل"))
    [message] = mail.outbox
    assert message.subject == f"خطوة: مطلوب منك معلومات عن الطلب {app.reference}"
    assert "مخطط المنزل" in message.body and review.body.name_ar in message.body


def test_refusal_gives_the_reason(world, deliver):
    preference_update(actor=world.applicant, by_email=True, by_sms=False, language="en")
    app = world.in_review()
    review = Review.objects.filter(application=app).first()
    deliver(lambda: world.decide(review, "reject", reason="The kitchen is too small."))
    [message] = mail.outbox
    assert message.subject == f"Khutwa: your application {app.reference} was refused"
    assert "The kitchen is too small." in message.body


def test_approval_then_licence_issued(world, deliver):
    app = world.in_review()
    deliver(lambda: world.decide_all(app))
    assert [m.subject for m in mail.outbox] == [f"خطوة: الموافقة على طلبك {app.reference}"]
    licence = deliver(lambda: licensing.licence_issue(actor=world.registrar, application=app))
    [message] = mail.outbox
    assert message.subject == f"خطوة: صدر ترخيصك {licence.number}"
    assert f"/ar/licence/{licence.number}/" in message.body


# Licence expiry ------------------------------------------------------------------------------


def test_expiry_reminders_30_and_7_days_before_each_once(world, deliver):
    licence = world.licensed()
    today = timezone.localdate()
    Licence.objects.filter(pk=licence.pk).update(valid_until=today + dt.timedelta(days=45))
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 0
    Licence.objects.filter(pk=licence.pk).update(valid_until=today + dt.timedelta(days=30))
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 1
    [message] = mail.outbox
    expected = (today + dt.timedelta(days=30)).isoformat()
    assert message.subject == f"خطوة: ينتهي ترخيصك {licence.number} في {expected}"
    assert "بعد 30 يومًا" in message.body
    # The job runs again (the same day, the next day): nothing more.
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 0
    assert deliver(lambda: licence_expiry_reminders_send(today=today + dt.timedelta(days=1))) == 0
    assert mail.outbox == []
    # Seven days before: the second reminder, once.
    seven_before = today + dt.timedelta(days=23)
    assert deliver(lambda: licence_expiry_reminders_send(today=seven_before)) == 1
    assert "بعد 7 يومًا" in mail.outbox[0].body
    assert deliver(lambda: licence_expiry_reminders_send(today=seven_before)) == 0
    assert Sent.objects.count() == 2
    assert Notice.objects.filter(user=licence.holder, application=None).count() == 2


def test_expiry_reminder_skips_missed_days_and_licences_not_active(world, deliver):
    licence = world.licensed()
    today = timezone.localdate()
    # First seen 5 days before: only the 7-day reminder.
    Licence.objects.filter(pk=licence.pk).update(valid_until=today + dt.timedelta(days=5))
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 1
    assert list(Sent.objects.values_list("key", flat=True)) == [
        f"licence_expiring:{licence.pk}:{(today + dt.timedelta(days=5)).isoformat()}:7"
    ]
    Licence.objects.filter(pk=licence.pk).update(
        valid_until=today + dt.timedelta(days=20), status="suspended"
    )
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 0


def test_renewed_licence_is_reminded_again_for_its_new_validity(world, deliver):
    licence = world.licensed()
    today = timezone.localdate()
    Licence.objects.filter(pk=licence.pk).update(valid_until=today + dt.timedelta(days=10))
    assert deliver(lambda: licence_expiry_reminders_send(today=today)) == 1
    Licence.objects.filter(pk=licence.pk).update(valid_until=today + dt.timedelta(days=375))
    assert deliver(lambda: licence_expiry_reminders_send(today=today + dt.timedelta(days=345))) == 1


def test_the_daily_job_is_scheduled_and_runs_the_reminders(
    world, django_capture_on_commit_callbacks, run_tasks
):
    from khutwa.jobs.schedule import JOBS
    from khutwa.notifications.tasks import licence_reminders_daily

    job = {j.name: j for j in JOBS}["licence_reminders"]
    assert job.task == "khutwa.notifications.tasks.licence_reminders_daily" and job.at == dt.time(7, 0)
    licence = world.licensed()
    Licence.objects.filter(pk=licence.pk).update(valid_until=timezone.localdate() + dt.timedelta(days=7))
    with django_capture_on_commit_callbacks(execute=True):
        licence_reminders_daily.enqueue()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_tasks() == 1  # the job: it enqueues the e-mail
    assert mail.outbox == []
    assert run_tasks() == 1
    assert [m.to for m in mail.outbox] == [[licence.holder.email]]


# Support and claims -------------------------------------------------------------------------


def test_support_decision_reaches_the_beneficiary(programme, claimant, officer, quotation, deliver):
    preference_update(actor=claimant, by_email=True, by_sms=False, language="en")
    application = support.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    deliver(lambda: support.application_decide(actor=officer, application=application, decision="approve"))
    [message] = mail.outbox
    assert message.to == [claimant.email]
    assert message.subject == f"Tamkeen: support application {application.reference} approved"
    assert "BHD 200.000" in message.body and f"/en/support/applications/{application.pk}/" in message.body
    # The in-portal notice, in both languages, whatever the channels.
    notice = Notice.objects.get(user=claimant, application=None)
    assert (
        notice.message_en == f"Tamkeen: support application {application.reference} approved (BHD 200.000)."
    )
    assert notice.message_ar == f"تمكين: طلب الدعم {application.reference} تمت الموافقة عليه (200.000 د.ب.)."


def test_support_refusal_in_arabic(programme, claimant, officer, quotation, deliver):
    application = support.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    deliver(
        lambda: support.application_decide(
            actor=officer, application=application, decision="reject", reason="الميزانية نفدت"
        )
    )
    [message] = mail.outbox
    assert message.subject == f"تمكين: رفض طلب الدعم {application.reference}"
    assert "الميزانية نفدت" in message.body


def test_claim_paid_reaches_whoever_is_paid(
    programme, claimant, officer, finance, supplier, book, quotation, deliver
):
    application = support.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    support.application_decide(actor=officer, application=application, decision="approve")
    invoice = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="invoice",
            customer=book.pk,
            quotation=str(quotation.public_id),
            tamkeen_application_number=application.reference,
            lines=[line(quantity="10", unit_price="40")],
        ),
    ).document
    receipt = docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="receipt",
            customer=book.pk,
            payment_method="bank_transfer",
            payment_reference="TRF-1",
            payment_amount="400",
            allocations=[(str(invoice.public_id), "400")],
        ),
    ).document
    claim = support.claim_submit(
        actor=claimant,
        application=application,
        document_refs=[str(invoice.public_id), str(receipt.public_id)],
    )
    support.claim_decide(actor=officer, claim=claim, decision="approve")
    support.beneficiary_set_iban(actor=claimant, iban="BH67 BMAG 0000 1299 1234 56")
    batch = support.batch_create(actor=finance, claim_ids=[claim.pk])
    deliver(lambda: support.batch_mark_paid(actor=finance, batch=batch))
    [message] = mail.outbox
    assert message.to == [claimant.email]
    assert message.subject == f"تمكين: دُفعت المطالبة على طلب الدعم {application.reference}"
    assert "200.000 د.ب." in message.body and batch.reference in message.body


# Customers ----------------------------------------------------------------------------------


def _quotation(supplier, customer):  # type: ignore[no-untyped-def]
    return docs.document_issue(
        actor=supplier,
        data=docs.DocumentInput(
            type="quotation",
            customer=customer.pk,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[line(quantity="2", unit_price="15")],
        ),
    ).document


def test_quotation_to_a_customer_without_account_is_bilingual_by_email_and_sms(supplier, deliver):
    customer = docs.customer_create(
        actor=supplier,
        kind="individual",
        cpr="850505005",
        name_en="Maryam",
        email="maryam@example.bh",
        phone="36001122",
    )
    document = deliver(lambda: _quotation(supplier, customer))
    [message] = mail.outbox
    assert message.to == ["maryam@example.bh"]
    assert (
        message.subject.startswith(f"عرض سعر {document.number}")
        and f"Quotation {document.number}" in message.subject
    )
    assert message.body.index("أصدر") < message.body.index("issued quotation")
    assert f"/ar/documents/{document.public_id}/" in message.body
    assert f"/ar/verify/{document.public_id}" in message.body
    assert "30.000" in message.body
    assert "850505005" not in message.body + message.subject  # no more personal data than needed
    [text] = sms.outbox
    assert text.to == "+97336001122" and document.number in text.text


def test_quotation_in_the_language_of_the_customer_account(supplier, claimant, deliver):
    preference_update(actor=claimant, by_email=False, by_sms=False, language="en")
    customer = docs.customer_create(
        actor=supplier, kind="individual", cpr=claimant.cpr, name_en="Yousif", email="yousif@example.bh"
    )
    document = deliver(lambda: _quotation(supplier, customer))
    [message] = mail.outbox
    assert message.subject.startswith(f"Quotation {document.number}") and "عرض" not in message.subject
    assert f"/en/documents/{document.public_id}/" in message.body


def test_no_contact_no_message_and_invoices_send_nothing(supplier, deliver):
    silent = docs.customer_create(actor=supplier, kind="individual", cpr="850505006", name_en="Ali")
    deliver(lambda: _quotation(supplier, silent))
    assert mail.outbox == [] and sms.outbox == []
    loud = docs.customer_create(
        actor=supplier, kind="individual", cpr="850505007", name_en="Huda", email="h@example.bh"
    )
    deliver(
        lambda: docs.document_issue(
            actor=supplier, data=docs.DocumentInput(type="invoice", customer=loud.pk, lines=[line()])
        )
    )
    assert mail.outbox == []


def test_the_command_sends_the_reminders_once(world, django_capture_on_commit_callbacks, run_tasks):
    from io import StringIO

    from django.core.management import call_command

    licence = world.licensed()
    Licence.objects.filter(pk=licence.pk).update(valid_until=timezone.localdate() + dt.timedelta(days=30))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("licence_reminders", stdout=out)
        call_command("licence_reminders", stdout=out)
    assert out.getvalue().splitlines() == [
        "1 licence expiry reminders sent",
        "0 licence expiry reminders sent",
    ]
    run_tasks()
    assert len(mail.outbox) == 1
