"""Each licence gets its own random public check code (the field's default is evaluated once
for the rows already there, so they are given one each here)."""

from django.db import migrations, models

import khutwa.licensing.models


def give_each_licence_its_code(apps, schema_editor):
    Licence = apps.get_model("licensing", "Licence")
    for licence in Licence.objects.only("pk").iterator():
        Licence.objects.filter(pk=licence.pk).update(check_code=khutwa.licensing.models.new_check_code())


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0003_licence_vat_number_validated"),
    ]

    operations = [
        migrations.AddField(
            model_name="licence",
            name="check_code",
            field=models.CharField(
                default=khutwa.licensing.models.new_check_code,
                editable=False,
                max_length=6,
                verbose_name="public check code",
            ),
        ),
        migrations.RunPython(give_each_licence_its_code, migrations.RunPython.noop),
    ]
