"""Rows of issued documents never change: the ORM's base managers refuse it, and database
triggers refuse UPDATE, DELETE and TRUNCATE (see khutwa.documents.triggers)."""

from django.db import migrations


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    from khutwa.documents.triggers import triggers_install

    triggers_install(schema_editor.connection)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    from khutwa.documents.triggers import triggers_remove

    triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_counter_turnover")]

    operations = [
        migrations.AlterModelOptions(name="allocation", options={"base_manager_name": "objects"}),
        migrations.AlterModelOptions(
            name="document",
            options={
                "base_manager_name": "objects",
                "ordering": ["-issued_at", "-id"],
                "verbose_name": "document",
                "verbose_name_plural": "documents",
            },
        ),
        migrations.AlterModelOptions(name="documentcounter", options={"base_manager_name": "objects"}),
        migrations.AlterModelOptions(
            name="documentline",
            options={"base_manager_name": "objects", "ordering": ["document", "position"]},
        ),
        migrations.AlterModelOptions(name="quotationresponse", options={"base_manager_name": "objects"}),
        migrations.AlterModelOptions(name="renderedfile", options={"base_manager_name": "objects"}),
        migrations.RunPython(forward, backward),
    ]
