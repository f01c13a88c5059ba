"""End to end over the wire: a service → the background task → a real SMTP server on loopback
(aiosmtpd) / the SMS gateway's HTTP stub."""

from __future__ import annotations

import pytest
from django.utils import timezone

from khutwa.notifications.services import preference_update

pytestmark = pytest.mark.django_db


def test_application_received_arrives_at_the_smtp_server_in_arabic(
    world, smtp_server, django_capture_on_commit_callbacks, run_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        app = world.submitted()
    assert smtp_server.received == []  # the request did not send it
    assert run_tasks() == 1
    [(sender, recipients, message)] = smtp_server.received
    assert sender == "khutwa@example.bh" and recipients == [app.email]
    assert message["To"] == app.email
    assert message["From"] == "Khutwa <khutwa@example.bh>"
    # RFC 2047 encoded words, decoded intact (Django folds the header after "Subject:", which
    # Python's parser reads as one leading space).
    assert message["Subject"].strip() == f"خطوة: استلمنا طلبك {app.reference}"
    assert "=?utf-8?b?" in message.as_string()
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert f"استلمنا طلبك رقم {app.reference} لترخيص العمل من المنزل" in body
    assert f"/ar/applications/{app.pk}/" in body


def test_in_english_when_the_user_chose_english(
    world, smtp_server, django_capture_on_commit_callbacks, run_tasks
):
    preference_update(actor=world.applicant, by_email=True, by_sms=False, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        app = world.submitted()
    run_tasks()
    [(_sender, _recipients, message)] = smtp_server.received
    assert message["Subject"].strip() == f"Khutwa: we received your application {app.reference}"
    assert "the registrar will check it" in message.get_content()


def test_off_means_nothing_reaches_the_server(
    world, smtp_server, django_capture_on_commit_callbacks, run_tasks
):
    preference_update(actor=world.applicant, by_email=False, by_sms=False, language="ar")
    with django_capture_on_commit_callbacks(execute=True):
        world.submitted()
    run_tasks()
    assert smtp_server.received == []


def test_sms_through_the_http_gateway(world, sms_gateway, django_capture_on_commit_callbacks, run_tasks):
    world.applicant.phone = "3300 1122"
    world.applicant.save(update_fields=["phone"])
    preference_update(actor=world.applicant, by_email=False, by_sms=True, language="ar")
    with django_capture_on_commit_callbacks(execute=True):
        app = world.submitted()
    assert sms_gateway.received == []
    assert run_tasks() == 1
    [received] = sms_gateway.received
    assert received["to"] == "+97333001122"
    assert received["authorization"] == "Bearer gateway-token"
    assert received["text"] == (
        f"خطوة: استلمنا طلبك {app.reference}. http://127.0.0.1:8000/ar/applications/{app.pk}/"
    )


def test_quotation_to_a_customer_by_smtp_and_sms_gateway(
    supplier, smtp_server, sms_gateway, django_capture_on_commit_callbacks, run_tasks
):
    import datetime as dt

    from khutwa.documents import services as docs
    from tests.documents.conftest import line

    customer = docs.customer_create(
        actor=supplier,
        kind="business",
        cr_number="12345-1",
        name_en="Bayt Co",
        email="buyer@example.bh",
        phone="+97366001122",
    )
    with django_capture_on_commit_callbacks(execute=True):
        document = docs.document_issue(
            actor=supplier,
            data=docs.DocumentInput(
                type="quotation",
                customer=customer.pk,
                valid_until=timezone.localdate() + dt.timedelta(days=10),
                lines=[line()],
            ),
        ).document
    run_tasks()  # the e-mail, the SMS (and the quotation's PDF)
    [(_sender, recipients, message)] = smtp_server.received
    assert recipients == ["buyer@example.bh"]
    assert document.number in message["Subject"] and "عرض سعر" in message["Subject"]
    body = message.get_content()
    assert "ادخل إلى خطوة" in body and "log in to Khutwa" in body
    [received] = sms_gateway.received
    assert received["to"] == "+97366001122" and document.number in received["text"]
