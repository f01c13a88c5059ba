"""The invoice counter row of each licence and year keeps the year's running turnover."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import Sum


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Document = apps.get_model("documents", "Document")
    DocumentCounter = apps.get_model("documents", "DocumentCounter")
    totals: dict[tuple[int, int], Decimal] = {}
    rows = (
        Document.objects.filter(type__in=["invoice", "credit_note"])
        .values_list("licence_id", "issue_date__year", "type")
        .annotate(s=Sum("total"))
    )
    for licence_id, year, kind, amount in rows:
        sign = 1 if kind == "invoice" else -1
        totals[(licence_id, year)] = totals.get((licence_id, year), Decimal("0")) + sign * amount
    for (licence_id, year), amount in totals.items():
        counter, _ = DocumentCounter.objects.get_or_create(
            licence_id=licence_id, type="invoice", year=year, defaults={"last": 0}
        )
        counter.turnover_fils = int((amount * 1000).to_integral_value())
        counter.save(update_fields=["turnover_fils"])


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="documentcounter",
            name="turnover_fils",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
