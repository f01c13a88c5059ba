"""Database triggers that refuse UPDATE, DELETE and TRUNCATE of the log's entries, subtrees,
checkpoints and cosignatures (see khutwa.tlog.triggers)."""

from django.db import migrations


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    from khutwa.tlog.triggers import triggers_install

    triggers_install(schema_editor.connection)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    from khutwa.tlog.triggers import triggers_remove

    triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("tlog", "0004_state_audit_anchoring")]

    operations = [migrations.RunPython(forward, backward)]
