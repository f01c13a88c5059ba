"""Database triggers that refuse UPDATE, DELETE and TRUNCATE of audit events."""

from django.db import migrations


def forward(apps, schema_editor):
    from khutwa.audit.triggers import triggers_install

    triggers_install(schema_editor.connection)


def backward(apps, schema_editor):
    from khutwa.audit.triggers import triggers_remove

    triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
