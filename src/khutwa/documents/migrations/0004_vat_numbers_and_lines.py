"""Customers' VAT account numbers; lines without per-line VAT (payload version 2); each year's
turnover net of VAT, with a credit note counted in its invoice's year."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import F, Sum

import khutwa.accounts.validators


def turnover_net_of_vat(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Recompute every year's running turnover by the rule issuing now follows."""
    Document = apps.get_model("documents", "Document")
    DocumentCounter = apps.get_model("documents", "DocumentCounter")
    totals: dict[tuple[int, int], Decimal] = {}
    invoices = (
        Document.objects.filter(type="invoice")
        .values_list("licence_id", "issue_date__year")
        .annotate(s=Sum("subtotal"))
    )
    credits = (
        Document.objects.filter(type="credit_note", invoice__isnull=False)
        .annotate(year=F("invoice__issue_date__year"))
        .values_list("licence_id", "year")
        .annotate(s=Sum("subtotal"))
    )
    for sign, rows in ((1, invoices), (-1, credits)):
        for licence_id, year, amount in rows:
            totals[(licence_id, year)] = totals.get((licence_id, year), Decimal("0")) + sign * amount
    for counter in DocumentCounter.objects.filter(type="invoice"):
        fils = int((totals.pop((counter.licence_id, counter.year), Decimal("0")) * 1000).to_integral_value())
        if fils != counter.turnover_fils:
            DocumentCounter.objects.filter(pk=counter.pk).update(turnover_fils=fils)
    for (licence_id, year), amount in totals.items():
        DocumentCounter.objects.create(
            licence_id=licence_id,
            type="invoice",
            year=year,
            turnover_fils=int((amount * 1000).to_integral_value()),
        )


def reinstall_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    """SQLite rebuilds a table to alter a column, and the rebuilt table has no triggers."""
    from khutwa.documents.triggers import triggers_install

    triggers_install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0003_immutable_rows"),
    ]

    operations = [
        migrations.RunPython(turnover_net_of_vat, migrations.RunPython.noop),
        migrations.AddField(
            model_name="customer",
            name="vat_number",
            field=models.CharField(
                blank=True,
                help_text="Only for a customer registered for VAT: tax invoices show it.",
                max_length=15,
                validators=[khutwa.accounts.validators.validate_vat_number],
                verbose_name="VAT account number",
            ),
        ),
        migrations.AlterField(
            model_name="documentline",
            name="total",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=14, null=True),
        ),
        migrations.AlterField(
            model_name="documentline",
            name="vat",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=14, null=True),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
