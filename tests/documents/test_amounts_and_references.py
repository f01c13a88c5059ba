"""Issue 9, "Amounts and parties that are right": VAT per category, split shares that keep
their lines and add up exactly, turnover net of VAT counted in the invoice's year, credit
notes to the invoice's own customer, references that are checked, amount limits from the
columns, statements whose ageing adds up to the closing balance."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khutwa.documents import money, selectors, services
from khutwa.documents.models import Document, DocumentCounter
from khutwa.documents.statements import statement_issue
from khutwa.documents.verification import document_verify
from khutwa.errors import Refused
from khutwa.licensing.models import Licence
from tests.documents.conftest import line
from tests.licensing.factories import applicant

pytestmark = pytest.mark.django_db

VAT_NUMBER = "200012345600003"


@pytest.fixture
def registered(licence):
    """The holder registered for VAT (the registrar records the number on the licence)."""
    Licence.objects.filter(pk=licence.pk).update(vat_number=VAT_NUMBER)
    licence.refresh_from_db()
    return licence


def other_customer(holder, cpr="811111112"):
    return services.customer_create(actor=holder, kind="individual", cpr=cpr, name_en="Maryam Ali")


@pytest.fixture
def backdated(world):
    """A licence issued 200 days ago (so that documents can be issued in the past), with a
    customer."""
    from khutwa.licensing.services import licence_issue

    licence = licence_issue(
        actor=world.registrar,
        application=world.approved(activities=["home-meals"]),
        today=timezone.localdate() - dt.timedelta(days=200),
    )
    customer = services.customer_create(
        actor=licence.holder, kind="individual", cpr="833333334", name_en="Huda"
    )
    return licence, customer


def counters(licence):
    return {
        (c.type, c.year): (c.last, c.turnover_fils) for c in DocumentCounter.objects.filter(licence=licence)
    }


# VAT per category ---------------------------------------------------------------------------


def test_vat_is_computed_once_per_category_on_the_sum_of_nets(issue, registered):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="0.005")] * 100)
    assert invoice.payload["vat_breakdown"] == [
        {"category": "S", "rate": "10.00", "taxable": "0.500", "vat": "0.050"}
    ]
    assert (invoice.subtotal, invoice.vat, invoice.total) == (
        Decimal("0.500"),
        Decimal("0.050"),
        Decimal("0.550"),
    )
    assert all("vat" not in ln and "total" not in ln for ln in invoice.payload["lines"])  # lines show net


def test_each_vat_category_has_its_own_breakdown_entry(issue, registered):
    invoice = issue(
        "invoice",
        lines=[
            line(unit_price="1.234", vat_category="S"),
            line(unit_price="3.000", vat_category="Z"),
            line(unit_price="2.001", vat_category="E"),
            line(unit_price="0.006", vat_category="S"),
        ],
    )
    assert invoice.payload["vat_breakdown"] == [
        {"category": "S", "rate": "10.00", "taxable": "2.480", "vat": "0.248"},
        {"category": "Z", "rate": "0.00", "taxable": "6.000", "vat": "0.000"},
        {"category": "E", "rate": "0.00", "taxable": "4.002", "vat": "0.000"},
    ]
    assert invoice.payload["total"] == "12.730"


# Split invoices --------------------------------------------------------------------------------


def split(holder, customer, lines, rate="0.7", **kw):
    return services.invoice_split(
        actor=holder,
        data=services.DocumentInput(
            type="invoice",
            customer=customer.pk,
            lines=lines,
            tamkeen_application_number="TMK-2026-000009",
            **kw,
        ),
        tamkeen_rate=rate,
    )


def test_split_shares_keep_every_line_and_state_the_share(holder, customer, registered):
    first, second = split(
        holder, customer, [line(quantity="3", unit="kg", unit_price="1.001", discount="0.002")]
    )
    a, b = first.document.payload["lines"][0], second.document.payload["lines"][0]
    for shared in (a, b):
        assert (shared["quantity"], shared["unit"], shared["unit_price"], shared["discount"]) == (
            "3.000",
            "kg",
            "1.001",
            "0.002",
        )
        assert shared["line_net"] == "3.001"
    assert (a["share"], b["share"]) == ("70.00", "30.00")
    assert (a["net"], b["net"]) == ("2.101", "0.900")  # 2.1007 half-up; the rest


amount_text = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999.999"), places=3).map(str)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prices=st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9.999"), places=3).map(str),
            st.decimals(min_value=Decimal("0"), max_value=Decimal("300"), places=3).map(str),
            st.sampled_from("SZE"),
        ),
        min_size=1,
        max_size=6,
    ),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4),
)
def test_split_shares_always_add_up_to_the_unsplit_invoice_vat_included(
    holder, customer, registered, prices, rate
):
    lines = [line(quantity=q, unit_price=p, vat_category=c) for q, p, c in prices]
    whole = services._prepare(
        actor=holder,
        data=services.DocumentInput(type="invoice", customer=customer.pk, lines=lines),
        licence=registered,
        today=timezone.localdate(),
    )
    with pytest.raises(_Rollback):
        from django.db import transaction

        with transaction.atomic():
            first, second = split(holder, customer, lines, rate=str(rate))
            a, b = first.document, second.document
            assert a.total + b.total == whole.total
            assert a.vat + b.vat == whole.vat and a.subtotal + b.subtotal == whole.subtotal
            for x, y, ln in zip(a.payload["lines"], b.payload["lines"], whole.lines, strict=True):
                assert Decimal(x["net"]) + Decimal(y["net"]) == ln["net"]
            for g in whole.vat_groups:
                ga = next((e for e in a.payload["vat_breakdown"] if e["category"] == g.category), None)
                gb = next(e for e in b.payload["vat_breakdown"] if e["category"] == g.category)
                assert Decimal(ga["vat"] if ga else "0") + Decimal(gb["vat"]) == g.vat
            raise _Rollback


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("share", ["NaN", "-1", "101", "1", "0", "0.12345", "abc", "Infinity", "1e-1"])
def test_bad_shares_are_refused_and_issue_nothing(holder, customer, share):
    with pytest.raises(ValidationError) as exc:
        split(holder, customer, [line()], rate=share)
    assert "tamkeen_share" in exc.value.message_dict
    assert not Document.objects.exists()


def test_split_through_the_api(client, holder, customer):
    from tests.api.test_licensing_api import auth

    headers = auth(holder)
    body = {
        "customer": customer.pk,
        "lines": [{"activity": "home-meals", "description": "Lunch", "quantity": "2", "unit_price": "5.501"}],
        "tamkeen_share": "0.7",
        "tamkeen_application_number": "TMK-2026-000009",
    }
    response = client.post("/api/v1/documents/split", body, content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    a, b = response.json()
    assert Decimal(a["total"]) + Decimal(b["total"]) == Decimal("11.002")
    for bad in ("NaN", "-1", "101"):
        response = client.post(
            "/api/v1/documents/split",
            {**body, "tamkeen_share": bad},
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 422, (bad, response.content)
        assert response.json()["errors"][0]["field"] == "tamkeen_share"
    assert Document.objects.count() == 2


# Turnover --------------------------------------------------------------------------------------


def test_turnover_is_net_of_vat(issue, registered):
    issue("invoice", lines=[line(quantity="1", unit_price="100")])
    assert services.turnover(registered, timezone.localdate().year) == Decimal("100.000")  # not 110


def test_a_credit_note_lowers_its_invoices_year_not_its_own(world):
    from khutwa.licensing.services import licence_issue

    december = dt.datetime(2025, 12, 31, 10, 0, tzinfo=dt.UTC)
    january = dt.datetime(2026, 1, 4, 10, 0, tzinfo=dt.UTC)
    licence = licence_issue(
        actor=world.registrar, application=world.approved(activities=["home-meals"]), today=december.date()
    )
    other = services.customer_create(actor=licence.holder, kind="individual", cpr="822222223", name_en="Ali")
    owner = licence.holder
    invoice = services.document_issue(
        actor=owner,
        data=services.DocumentInput(type="invoice", customer=other.pk, lines=[line(unit_price="50")]),
        now=december,
    ).document
    services.document_issue(
        actor=owner,
        data=services.DocumentInput(
            type="credit_note",
            invoice=str(invoice.public_id),
            reason="Returned",
            lines=[line(unit_price="20")],
        ),
        now=january,
    )
    assert services.turnover(licence, 2025) == Decimal("60.000")  # 2 × 50 − 2 × 20
    assert services.turnover(licence, 2026) == Decimal("0.000")


def test_the_migration_recomputes_turnover_by_the_new_rule(issue, registered):
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    year = timezone.localdate().year
    a = issue("invoice", lines=[line(quantity="1", unit_price="10")])
    issue("credit_note", invoice=str(a.public_id), reason="x", lines=[line(quantity="1", unit_price="4")])
    with connection.cursor() as cursor:  # the turnover is the one counter column not guarded
        cursor.execute(f"UPDATE {DocumentCounter._meta.db_table} SET turnover_fils = 999")  # noqa: S608
    # As `migrate` runs it: with the historical models of the state before it.
    state = MigrationLoader(connection).project_state(("documents", "0003_immutable_rows"))
    import_module("khutwa.documents.migrations.0004_vat_numbers_and_lines").turnover_net_of_vat(
        state.apps, None
    )
    assert services.turnover(registered, year) == Decimal("6.000")  # 10 − 4, VAT excluded


# Credit notes ----------------------------------------------------------------------------------


def test_a_credit_note_credits_the_invoices_own_customer(issue, holder, customer):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="10")])
    other = other_customer(holder)
    with pytest.raises(ValidationError) as exc:
        issue(
            "credit_note",
            customer=other.pk,
            invoice=str(invoice.public_id),
            reason="x",
            lines=[line(unit_price="1")],
        )
    assert "customer" in exc.value.message_dict
    assert Document.objects.count() == 1
    note = services.document_issue(
        actor=holder,
        data=services.DocumentInput(
            type="credit_note",
            invoice=str(invoice.public_id),
            reason="x",
            lines=[line(quantity="1", unit_price="1")],
        ),
    ).document
    assert note.customer == customer  # taken from the invoice when not given


def test_tamkeens_share_is_credited_to_tamkeen_and_lowers_its_statement(holder, customer):
    first, _second = split(holder, customer, [line(quantity="1", unit_price="100")], rate="0.5")
    share = first.document
    with pytest.raises(ValidationError):
        services.document_issue(
            actor=holder,
            data=services.DocumentInput(
                type="credit_note",
                customer=customer.pk,
                invoice=str(share.public_id),
                reason="x",
                lines=[line(quantity="1", unit_price="10")],
            ),
        )
    services.document_issue(
        actor=holder,
        data=services.DocumentInput(
            type="credit_note",
            invoice=str(share.public_id),
            reason="One meal fewer",
            lines=[line(unit_price="10", quantity="1")],
        ),
    )
    today = timezone.localdate()
    statement = statement_issue(actor=holder, customer_id=share.customer_id, start=today, end=today).document
    assert statement.payload["statement"]["closing_balance"] == "40.000"
    from khutwa.support.checks import claimed_amount

    assert claimed_amount([share]) == Decimal("40.000")


# References ------------------------------------------------------------------------------------


def invoice_of(issue, quotation, amount="11", **kw):
    return issue(
        "invoice", quotation=str(quotation.public_id), lines=[line(quantity="1", unit_price=amount)], **kw
    )


def answer(quotation, accept):
    services.quotation_respond(actor=applicant(cpr="870303003"), quotation=quotation, accept=accept)


def test_a_declined_quotation_is_not_invoiced(issue, licence):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="5")])
    answer(quotation, accept=False)
    before = counters(licence)
    with pytest.raises(ValidationError) as exc:
        invoice_of(issue, quotation, "450")
    assert "declined" in exc.value.message_dict["references.quotation"][0]
    assert counters(licence) == before


def test_another_customers_quotation_is_not_cited(issue, holder):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="5")])
    other = other_customer(holder)
    with pytest.raises(ValidationError) as exc:
        invoice_of(issue, quotation, "5", customer=other.pk)
    assert "another customer" in exc.value.message_dict["references.quotation"][0]


def test_an_unanswered_quotation_is_invoiced_until_it_expires_an_accepted_one_after(issue, holder):
    today = timezone.localdate()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    unanswered = issue("quotation", valid_until=today, lines=[line(quantity="1", unit_price="5")])
    accepted = issue("quotation", valid_until=today, lines=[line(quantity="1", unit_price="5")])
    answer(accepted, accept=True)
    data = lambda q: services.DocumentInput(  # noqa: E731
        type="invoice",
        customer=q.customer_id,
        quotation=str(q.public_id),
        lines=[line(quantity="1", unit_price="5")],
    )
    with pytest.raises(ValidationError):
        services.document_issue(actor=holder, data=data(unanswered), now=later)
    assert services.document_issue(actor=holder, data=data(accepted), now=later).document.number


def test_a_quotation_is_invoiced_once_unless_in_documented_parts(issue):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="100")])
    invoice_of(issue, quotation, "100")
    with pytest.raises(Refused) as exc:
        invoice_of(issue, quotation, "1")
    assert exc.value.field == "references.quotation" and "already invoiced" in str(exc.value)

    parted = issue("quotation", lines=[line(quantity="1", unit_price="100")])
    first = invoice_of(issue, parted, "60", partial=True)
    assert first.payload["quotation_invoicing"] == {
        "partial": True,
        "quotation_total": "100.000",
        "invoiced_before": "0.000",
        "remaining_after": "40.000",
    }
    with pytest.raises(Refused) as exc:
        invoice_of(issue, parted, "41")  # more than remains, no reason stated
    assert exc.value.field == "references.difference_reason"
    last = invoice_of(issue, parted, "40")
    assert last.payload["quotation_invoicing"]["invoiced_before"] == "60.000"
    assert last.payload["quotation_invoicing"]["remaining_after"] == "0.000"
    with pytest.raises(Refused):
        invoice_of(issue, parted, "1", partial=True)  # the last one was not partial


def test_more_than_the_quotation_needs_the_difference_stated(issue):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="5")])
    with pytest.raises(Refused) as exc:
        invoice_of(issue, quotation, "450")
    assert "5.000" in str(exc.value) and exc.value.field == "references.difference_reason"
    invoice = invoice_of(issue, quotation, "6", difference_reason="Customer added a sixth dish")
    assert invoice.payload["difference_reason"] == "Customer added a sixth dish"


def test_a_split_pair_is_one_sale_against_its_quotation(holder, customer, issue):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="100")])
    first, second = split(
        holder, customer, [line(quantity="1", unit_price="100")], quotation=str(quotation.public_id)
    )
    assert first.document.payload["quotation_invoicing"]["remaining_after"] == "0.000"
    assert second.document.payload["quotation_invoicing"] == first.document.payload["quotation_invoicing"]
    with pytest.raises(Refused):
        invoice_of(issue, quotation, "1")


def test_delivery_notes_are_the_customers_and_invoiced_once(issue, holder):
    note = issue("delivery_note", lines=[line(quantity="2", unit_price="5")])
    other = other_customer(holder)
    with pytest.raises(ValidationError) as exc:
        issue("invoice", customer=other.pk, delivery_notes=[str(note.public_id)])
    assert "another customer" in exc.value.message_dict["references.delivery_notes[0]"][0]
    with pytest.raises(Refused) as exc:
        issue("invoice", delivery_notes=[str(note.public_id)], lines=[line(quantity="3", unit_price="5")])
    assert exc.value.field == "references.difference_reason"
    issue("invoice", delivery_notes=[str(note.public_id)], lines=[line(quantity="2", unit_price="5")])
    with pytest.raises(Refused) as exc:
        issue("invoice", delivery_notes=[str(note.public_id)], lines=[line(quantity="2", unit_price="5")])
    assert "already invoiced" in str(exc.value)


# Amount limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_price": "1000000000"}, "lines[0].unit_price"),
        ({"quantity": "99999999999999999999"}, "lines[0].quantity"),
        ({"discount": "1000000000"}, "lines[0].discount"),
        ({"quantity": "999999999", "unit_price": "999999999"}, "lines[0].unit_price"),
    ],
)
def test_amounts_beyond_the_columns_are_refused_before_anything_is_taken(issue, licence, changes, field):
    with pytest.raises(ValidationError) as exc:
        issue("invoice", lines=[line(**changes)])
    assert field in exc.value.message_dict
    assert not DocumentCounter.objects.exists()


def test_a_total_beyond_the_column_is_refused(issue):
    lines = [line(quantity="999999999", unit_price="99")] * 200  # each line fits, the sum does not
    with pytest.raises(ValidationError) as exc:
        issue("quotation", lines=lines)
    assert "lines" in exc.value.message_dict


def test_huge_amounts_are_422_not_500_through_the_api(client, holder, customer):
    from tests.api.test_licensing_api import auth

    body = {
        "type": "invoice",
        "customer": customer.pk,
        "lines": [
            {"activity": "home-meals", "description": "x", "quantity": "1" + "0" * 18, "unit_price": "9" * 19}
        ],
    }
    response = client.post("/api/v1/documents", body, content_type="application/json", **auth(holder))
    assert response.status_code == 422, response.content
    assert not Document.objects.exists()


# Statements ------------------------------------------------------------------------------------


def test_a_negative_statement_is_said_in_credit_and_renders(issue, holder, customer, client):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="10")])
    issue(
        "receipt",
        payment_method="cash",
        payment_amount="15.500",
        allocations=[(str(invoice.public_id), "10")],
    )
    today = timezone.localdate()
    statement = statement_issue(actor=holder, customer_id=customer.pk, start=today, end=today).document
    assert statement.payload["total"] == "-5.500"
    assert statement.payload["total_words"] == {
        "ar": "خمسة دنانير بحرينية وخمسمائة فلس له",
        "en": "Five Bahraini dinars and five hundred fils in credit",
    }
    assert statement.payload["statement"]["ageing"]["credit"] == "-5.500"
    assert document_verify(statement).valid
    client.force_login(holder)
    response = client.get(f"/ar/documents/{statement.public_id}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_a_zero_statement_is_signed_without_a_negative_zero(issue, holder, customer):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="10")])
    issue(
        "credit_note",
        invoice=str(invoice.public_id),
        reason="Cancelled",
        lines=[line(quantity="1", unit_price="10")],
    )
    today = timezone.localdate()
    statement = statement_issue(actor=holder, customer_id=customer.pk, start=today, end=today).document
    assert (
        statement.payload["total"] == "0.000" and statement.payload["statement"]["closing_balance"] == "0.000"
    )
    from khutwa.trust.canonical import canonical_json

    assert b'"-0.000"' not in canonical_json(statement.payload)
    assert statement.payload["total_words"]["en"] == "Zero Bahraini dinars"


def test_a_fully_credited_invoice_is_credited_not_paid(issue, holder):
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="10")])
    issue(
        "credit_note",
        invoice=str(invoice.public_id),
        reason="Cancelled",
        lines=[line(quantity="1", unit_price="10")],
    )
    mine = selectors.documents_for(holder, type_="invoice")
    today = timezone.localdate()
    assert list(selectors.with_status(mine, "credited", today)) == [invoice]
    assert not selectors.with_status(mine, "paid", today).exists()
    assert not selectors.with_status(mine, "unpaid", today).exists()
    verdict = document_verify(invoice)
    assert verdict.credited == Decimal("10.000") and not verdict.paid


event = st.one_of(
    st.tuples(st.just("invoice"), amount_text, st.integers(min_value=-100, max_value=40)),
    st.tuples(
        st.just("credit"),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1"), places=2),
        st.just(0),
    ),
    st.tuples(st.just("receipt"), amount_text, st.sampled_from([0, 1, 2])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=8))
def test_the_ageing_always_adds_up_to_the_closing_balance(backdated, events):
    """Invoices due in the past or the future, partial credits, receipts allocated fully, in
    part or not at all: the buckets (credit included) sum to the closing balance."""
    from django.db import transaction

    from khutwa.documents.statements import statement_compute

    licence, customer = backdated
    holder = licence.holder
    with pytest.raises(_Rollback), transaction.atomic():
        invoices: list[Document] = []
        today = timezone.localdate()
        for kind, amount, extra in events:
            if kind == "invoice":
                due = today + dt.timedelta(days=extra)
                data = services.DocumentInput(
                    type="invoice", customer=customer.pk, lines=[line(quantity="1", unit_price=amount)]
                )
                # A due date in the past is refused on issue: issue it then, backdated.
                now = timezone.now() if extra >= 0 else timezone.now() + dt.timedelta(days=extra)
                data.due_date = due if extra >= 0 else None
                invoices.append(services.document_issue(actor=holder, data=data, now=now).document)
            elif kind == "credit" and invoices:
                target = invoices[-1]
                left = money.bhd(target.total - services.credited_amount(target))
                part = money.bhd(left * amount)
                if part > 0:
                    services.document_issue(
                        actor=holder,
                        data=services.DocumentInput(
                            type="credit_note",
                            invoice=str(target.public_id),
                            reason="x",
                            lines=[line(quantity="1", unit_price=str(part))],
                        ),
                    )
            elif kind == "receipt":
                allocations = []
                if extra and invoices:
                    target = invoices[-1]
                    left = services.outstanding(target)
                    share = left if extra == 1 else money.bhd(left / 2)
                    if share > 0:
                        allocations = [(str(target.public_id), money.text(share))]
                if allocations:
                    services.document_issue(
                        actor=holder,
                        data=services.DocumentInput(
                            type="receipt",
                            customer=customer.pk,
                            payment_method="cash",
                            payment_amount=amount
                            if Decimal(amount) >= Decimal(allocations[0][1])
                            else allocations[0][1],
                            allocations=allocations,
                        ),
                    )
        snapshot = statement_compute(
            licence=licence, customer=customer, start=today - dt.timedelta(days=400), end=today
        )
        ageing = sum((Decimal(v) for v in snapshot["ageing"].values()), Decimal("0"))
        assert ageing == Decimal(snapshot["closing_balance"])
        raise _Rollback


# The customer book -----------------------------------------------------------------------------


def test_a_full_tax_invoice_needs_the_buyers_address_which_the_book_can_be_given(holder, registered, client):
    from tests.api.test_licensing_api import auth

    buyer = services.customer_create(
        actor=holder, kind="business", cr_number="145678-1", name_en="Palm W.L.L.", vat_number=VAT_NUMBER
    )
    data = services.DocumentInput(
        type="invoice", customer=buyer.pk, lines=[line(quantity="1", unit_price="600")]
    )
    with pytest.raises(ValidationError) as exc:
        services.document_issue(actor=holder, data=data)
    assert "address" in exc.value.message_dict["customer"][0]
    small = services.DocumentInput(
        type="invoice", customer=buyer.pk, lines=[line(quantity="1", unit_price="400")]
    )
    assert services.document_issue(actor=holder, data=small).document  # a simplified tax invoice
    headers = auth(holder)
    response = client.patch(
        f"/api/v1/customers/{buyer.pk}",
        {"address": "Shop 4, Manama"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200 and response.json()["address"] == "Shop 4, Manama"
    issued = services.document_issue(actor=holder, data=data).document
    assert issued.payload["customer"]["address"] == "Shop 4, Manama"
    assert issued.payload["customer"]["vat_number"] == VAT_NUMBER
    bad = client.patch(
        f"/api/v1/customers/{buyer.pk}", {"vat_number": "12"}, content_type="application/json", **headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "vat_number"
    other = applicant(cpr="870303009")
    assert (
        client.patch(
            f"/api/v1/customers/{buyer.pk}", {"address": "x"}, content_type="application/json", **auth(other)
        ).status_code
        == 404
    )
    buyer.refresh_from_db()
    assert buyer.address == "Shop 4, Manama"


def test_the_customer_book_page_edits_an_entry(client, holder, customer):
    client.force_login(holder)
    page = client.get("/ar/customers/")
    assert page.status_code == 200 and customer.name_ar in page.content.decode()
    response = client.post(
        f"/en/customers/{customer.pk}/",
        {
            "name_ar": customer.name_ar,
            "name_en": customer.name_en,
            "address": "Road 12, Riffa",
            "vat_number": "123",
        },
    )
    assert response.status_code == 400 and "15 digits" in response.content.decode()
    customer.refresh_from_db()
    assert customer.address == "Block 905, Riffa"  # nothing changed
    response = client.post(
        f"/en/customers/{customer.pk}/",
        {"name_ar": customer.name_ar, "name_en": customer.name_en, "address": "Road 12, Riffa"},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.address == "Road 12, Riffa"
    stranger = applicant(cpr="870303008")
    client.force_login(stranger)
    assert client.get(f"/en/customers/{customer.pk}/").status_code == 404


def test_the_registrar_records_the_holders_vat_number_and_invoices_become_tax_invoices(
    client, world, holder, licence, issue
):
    from tests.api.test_licensing_api import auth

    assert issue("invoice").payload["issuer"]["vat_number"] is None
    url = f"/api/v1/licences/{licence.number}/vat"
    assert (
        client.post(
            url, {"vat_number": VAT_NUMBER}, content_type="application/json", **auth(holder)
        ).status_code
        == 403
    )
    bad = client.post(url, {"vat_number": "12345"}, content_type="application/json", **auth(world.registrar))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "vat_number"
    licence.refresh_from_db()
    assert licence.vat_number == ""
    ok = client.post(
        url, {"vat_number": VAT_NUMBER}, content_type="application/json", **auth(world.registrar)
    )
    assert ok.status_code == 200 and ok.json()["vat_number"] == VAT_NUMBER
    invoice = issue("invoice", lines=[line(quantity="1", unit_price="10", vat_category="S")])
    assert invoice.payload["issuer"]["vat_number"] == VAT_NUMBER and invoice.payload["vat"] == "1.000"
    client.force_login(world.registrar)
    page = client.post(f"/en/licence/{licence.number}/vat/", {"vat_number": ""})
    assert page.status_code == 302
    licence.refresh_from_db()
    assert licence.vat_number == ""


def test_a_document_whose_pdf_cannot_be_made_is_never_numbered(issue, licence, monkeypatch):
    from khutwa.documents import pdf

    def broken(payload):
        raise ValueError("cannot lay out this payload")

    before = counters(licence)
    with monkeypatch.context() as patched:
        patched.setattr(pdf, "pdf_context", broken)
        with pytest.raises(ValueError, match="cannot lay out"):
            issue("invoice")
    assert counters(licence) == before and not Document.objects.exists()
    assert issue("invoice").number.endswith("-000001")


def test_the_document_page_shows_net_lines_vat_by_category_and_the_words(client, holder, registered, issue):
    quotation = issue("quotation", lines=[line(quantity="1", unit_price="100", vat_category="S")])
    invoice = issue(
        "invoice",
        quotation=str(quotation.public_id),
        partial=True,
        lines=[line(quantity="1", unit_price="40", vat_category="S")],
    )
    client.force_login(holder)
    page = client.get(f"/en/documents/{invoice.public_id}/").content.decode()
    assert "40.000" in page and "10.00%" in page and 'id="vat-breakdown"' in page
    assert "Forty-four Bahraini dinars" in page  # 40 + 10% VAT, in words
    assert (
        "Partial invoice." in page and "<bdi>66.000</bdi>" in page
    )  # 110 quoted (VAT included), 44 invoiced
    arabic = client.get(f"/ar/documents/{invoice.public_id}/").content.decode()
    assert invoice.payload["total_words"]["ar"] in arabic


def test_editing_a_customer_after_issue_leaves_its_documents_valid(issue, holder, customer):
    invoice = issue("invoice")
    services.customer_update(actor=holder, customer=customer, name_en="Yousif E. Ebrahim", address="Road 1")
    verdict = document_verify(invoice)
    assert verdict.valid, verdict.reasons
    assert invoice.payload["customer"]["name_en"] == "Yousif Ebrahim"  # the document shows it as sealed
