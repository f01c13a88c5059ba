"""Each chain head keeps the seq of its last anchor (`anchored_seq`), and a partial index holds the
heads that moved since: the sequencer's per-minute scan reads those, not every chain."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_anchors(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The heads anchored so far leave the index (their anchor rows stay the record)."""
    AuditHead = apps.get_model("audit", "AuditHead")
    AuditAnchor = apps.get_model("audit", "AuditAnchor")
    anchored = AuditAnchor.objects.filter(chain=OuterRef("chain")).values("seq")[:1]
    AuditHead.objects.filter(chain__in=AuditAnchor.objects.values("chain")).update(
        anchored_seq=Subquery(anchored)
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_partitioned_chains")]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="anchored_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="audithead",
            index=models.Index(
                condition=models.Q(("last_seq__gt", models.F("anchored_seq"))),
                fields=["chain"],
                name="audit_head_unanchored",
            ),
        ),
        migrations.RunPython(copy_anchors, migrations.RunPython.noop),
    ]
