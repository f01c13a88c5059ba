"""Loading catalogue/seed.py into the database (used by the data migration and tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from khutwa.catalogue import seed


def load_seed(apps: Any) -> None:
    """Create the seeded catalogue rows that do not exist yet; never overwrite edits."""
    body_model = apps.get_model("catalogue", "ApprovingBody")
    category_model = apps.get_model("catalogue", "ActivityCategory")
    activity_model = apps.get_model("catalogue", "Activity")
    tier_model = apps.get_model("catalogue", "LicenceTier")
    governorate_model = apps.get_model("catalogue", "Governorate")
    holiday_model = apps.get_model("catalogue", "PublicHoliday")
    weekday_model = apps.get_model("catalogue", "Weekday")

    bodies = {}
    for order, (code, ar, en, sla, inspects) in enumerate(seed.BODIES):
        bodies[code], _ = body_model.objects.get_or_create(
            code=code,
            defaults={
                "name_ar": ar,
                "name_en": en,
                "sla_working_days": sla,
                "conducts_inspections": inspects,
                "sort_order": order,
            },
        )
    categories = {}
    for order, (code, ar, en) in enumerate(seed.CATEGORIES):
        categories[code], _ = category_model.objects.get_or_create(
            code=code, defaults={"name_ar": ar, "name_en": en, "sort_order": order}
        )
    for order, (code, ar, en, category, is_food, inspection) in enumerate(seed.ACTIVITIES):
        prepare_ar, prepare_en = seed.to_prepare(code, is_food)
        activity, created = activity_model.objects.get_or_create(
            code=code,
            defaults={
                "name_ar": ar,
                "name_en": en,
                "category": categories[category],
                "is_food": is_food,
                "requires_inspection": inspection,
                "to_prepare_ar": prepare_ar,
                "to_prepare_en": prepare_en,
                "sort_order": order,
            },
        )
        if created:
            activity.bodies.set([bodies[b] for b in seed.bodies_for(code, is_food)])
    for order, (code, ar, en, max_act, ceiling, months, cap) in enumerate(seed.TIERS):
        tier_model.objects.get_or_create(
            code=code,
            defaults={
                "name_ar": ar,
                "name_en": en,
                "max_activities": max_act,
                "turnover_ceiling": ceiling,
                "validity_months": months,
                "support_cap": cap,
                "sort_order": order,
            },
        )
    for order, (code, ar, en) in enumerate(seed.GOVERNORATES):
        governorate_model.objects.get_or_create(
            code=code, defaults={"name_ar": ar, "name_en": en, "sort_order": order}
        )
    for year in seed.HOLIDAY_YEARS:
        for month_day, ar, en in seed.FIXED_HOLIDAYS:
            month, day = (int(part) for part in month_day.split("-"))
            holiday_model.objects.get_or_create(
                date=dt.date(year, month, day), defaults={"name_ar": ar, "name_en": en}
            )
    for iso_weekday, working in seed.WORKING_WEEK.items():
        weekday_model.objects.get_or_create(iso_weekday=iso_weekday, defaults={"is_working_day": working})
