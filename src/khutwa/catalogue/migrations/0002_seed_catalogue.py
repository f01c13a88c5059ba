"""Seed the catalogue from catalogue/seed.py (shared/brief/ACTIVITIES.md)."""

from django.db import migrations


def seed_forward(apps, schema_editor):
    from khutwa.catalogue.loading import load_seed

    load_seed(apps)


def seed_backward(apps, schema_editor):
    from khutwa.catalogue import seed

    apps.get_model("catalogue", "Activity").objects.filter(
        code__in=[row[0] for row in seed.ACTIVITIES]
    ).delete()
    apps.get_model("catalogue", "ActivityCategory").objects.filter(
        code__in=[row[0] for row in seed.CATEGORIES]
    ).delete()
    apps.get_model("catalogue", "ApprovingBody").objects.filter(
        code__in=[row[0] for row in seed.BODIES]
    ).delete()
    apps.get_model("catalogue", "LicenceTier").objects.filter(
        code__in=[row[0] for row in seed.TIERS]
    ).delete()
    apps.get_model("catalogue", "Governorate").objects.filter(
        code__in=[row[0] for row in seed.GOVERNORATES]
    ).delete()
    apps.get_model("catalogue", "PublicHoliday").objects.all().delete()
    apps.get_model("catalogue", "Weekday").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(seed_forward, seed_backward)]
