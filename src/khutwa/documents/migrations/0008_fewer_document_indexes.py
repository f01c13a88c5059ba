"""Fewer indexes on the document table (issue 13: each one costs on every INSERT of issuing).

- licence_id and customer_id lose their own index: every lookup by either is served by an index
  that starts with it ((licence, number), (licence, counter), the keyset indexes); so does a
  line's document_id (the unique (document, position)).
- quotation_id, invoice_id and split_group are indexed where set only (partial indexes): most
  documents have none of them and write no entry.
- PostgreSQL: the `varchar_pattern_ops` copies of `type` and `hash` (made by Django for LIKE
  'x%'), which no query uses (nothing filters them with a pattern).

The fields change in the migration state only (`SeparateDatabaseAndState`): altering them on
SQLite would rebuild the table, dropping its triggers (`documents.triggers`); the indexes are
dropped by name, found by introspection (Django names them the same on both engines).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

#: The single-column indexes dropped, per model (their fields lose db_index in the state).
DROPPED = {
    "Document": ("licence_id", "customer_id", "quotation_id", "invoice_id", "split_group"),
    "DocumentLine": ("document_id",),
}
#: PostgreSQL's LIKE copies (`…_like`, varchar_pattern_ops) of these columns.
LIKE_DROPPED = ("type", "hash")


def _single_column_indexes(schema_editor, model, column):
    with schema_editor.connection.cursor() as cursor:
        found = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return sorted(
        name
        for name, info in found.items()
        if info["columns"] == [column] and info["index"] and not info["unique"] and not info["primary_key"]
    )


def drop_indexes(apps, schema_editor):
    for model_name, columns in DROPPED.items():
        model = apps.get_model("documents", model_name)
        for column in columns:
            for name in _single_column_indexes(schema_editor, model, column):
                if not name.startswith("document_"):  # (the partial indexes added below)
                    schema_editor.execute(schema_editor._delete_index_sql(model, name))
    model = apps.get_model("documents", "Document")
    if schema_editor.connection.vendor == "postgresql":
        for column in LIKE_DROPPED:
            for name in _single_column_indexes(schema_editor, model, column):
                if name.endswith("_like"):
                    schema_editor.execute(schema_editor._delete_index_sql(model, name))


def restore_indexes(apps, schema_editor):
    for model_name, columns in DROPPED.items():
        model = apps.get_model("documents", model_name)
        for column in columns:
            field = next(f for f in model._meta.concrete_fields if f.column == column)
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
    model = apps.get_model("documents", "Document")
    if schema_editor.connection.vendor == "postgresql":
        for column in LIKE_DROPPED:
            field = next(f for f in model._meta.concrete_fields if f.column == column)
            like = schema_editor._create_like_index_sql(model, field)
            if like is not None:
                schema_editor.execute(like)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0007_invoice_balances"),
        ("licensing", "0006_application_name_trigram_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="documentline",
                    name="document",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="documents.document",
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="documents",
                        to="documents.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="invoice",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="For a credit note: the invoice it corrects.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="documents.document",
                        verbose_name="invoice",
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="licence",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="documents",
                        to="licensing.licence",
                        verbose_name="licence",
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="quotation",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="documents.document",
                        verbose_name="quotation",
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="split_group",
                    field=models.UUIDField(
                        blank=True,
                        help_text="Split invoicing: the two invoices issued together (Tamkeen's share and the customer's).",
                        null=True,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("quotation__isnull", False)),
                fields=["quotation"],
                name="document_quotation_set",
            ),
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("invoice__isnull", False)),
                fields=["invoice"],
                name="document_invoice_set",
            ),
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("split_group__isnull", False)),
                fields=["split_group"],
                name="document_split_group_set",
            ),
        ),
    ]
