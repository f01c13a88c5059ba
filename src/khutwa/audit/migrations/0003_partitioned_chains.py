"""The audit log partitioned into chains (issue 13): each event gets a chain and a place in it,
each chain its own head. The events written before form the legacy chain `global` with
seq = id, so they verify exactly as they were sealed (their hash covers their id)."""

from django.db import migrations, models

RESET_PG_ID_SEQUENCE = """
SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), COALESCE(MAX(id), 0) + 1, false)
FROM audit_auditevent
"""


def triggers_off(apps, schema_editor):
    from khutwa.audit.triggers import triggers_suspend

    triggers_suspend(schema_editor.connection)


def triggers_on(apps, schema_editor):
    from khutwa.audit.triggers import triggers_install, triggers_resume

    triggers_resume(schema_editor.connection)
    triggers_install(schema_editor.connection)  # SQLite: the table was rebuilt without them


def legacy_chain(apps, schema_editor):
    """Every event so far is its id's place in the chain `global`; new events take their ids
    from the database (PostgreSQL's identity was never advanced: ids were given explicitly)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET seq = id")
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(RESET_PG_ID_SEQUENCE)


def only_legacy(apps, schema_editor):
    """Going back is possible only while every event is in the legacy chain."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    if AuditEvent.objects.exclude(chain="global").exists():
        raise RuntimeError("events were written to partitioned chains: the audit log cannot go back")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(triggers_off, triggers_on),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default="global", max_length=64, verbose_name="chain"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True, verbose_name="place in chain"),
        ),
        migrations.RunPython(legacy_chain, only_legacy),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(verbose_name="place in chain"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_event_chain_seq"),
        ),
        migrations.RenameField(model_name="audithead", old_name="last_event_id", new_name="last_seq"),
        migrations.AddField(
            model_name="audithead",
            name="chain",
            field=models.CharField(default="global", max_length=64, unique=True),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.CharField(max_length=64, unique=True)),
                ("seq", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("anchored_at", models.DateTimeField()),
            ],
            options={"verbose_name": "audit chain anchor", "default_permissions": ()},
        ),
        migrations.RunPython(triggers_on, triggers_off),
    ]
