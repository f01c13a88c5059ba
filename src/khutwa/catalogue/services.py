"""Rules over the catalogue that other domains call (no writes yet: the admin edits it)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from khutwa.catalogue.models import Activity, ApprovingBody, LicenceTier


def activity_selection_validate(
    *, tier_code: str, activity_codes: Sequence[str]
) -> tuple[LicenceTier, list[Activity]]:
    """Check a tier and a choice of activities; return them, or raise naming the field."""
    errors: dict[str, list[str]] = {}
    tier = LicenceTier.objects.filter(code=tier_code, is_active=True).first()
    if tier is None:
        errors["tier"] = [_("Unknown licence tier “%(code)s”.") % {"code": tier_code}]
    codes = list(dict.fromkeys(activity_codes))
    if len(codes) != len(activity_codes):
        errors.setdefault("activities", []).append(_("An activity is listed more than once."))
    activities = list(Activity.objects.filter(code__in=codes, is_active=True))
    found = {a.code for a in activities}
    unknown = [code for code in codes if code not in found]
    if not codes:
        errors.setdefault("activities", []).append(_("Choose at least one activity."))
    for code in unknown:
        errors.setdefault("activities", []).append(_("Unknown activity “%(code)s”.") % {"code": code})
    if tier is not None and len(codes) > tier.max_activities:
        errors.setdefault("activities", []).append(
            ngettext(
                "The %(tier)s tier allows at most %(max)d activity; you chose %(count)d.",
                "The %(tier)s tier allows at most %(max)d activities; you chose %(count)d.",
                tier.max_activities,
            )
            % {"tier": tier.name, "max": tier.max_activities, "count": len(codes)}
        )
    if errors or tier is None:
        raise ValidationError(errors)
    order = {code: i for i, code in enumerate(codes)}
    activities.sort(key=lambda a: order[a.code])
    return tier, activities


def bodies_required(activities: Sequence[Activity]) -> list[ApprovingBody]:
    """The union of the approving bodies that the activities need, in the bodies' order."""
    seen: dict[int, ApprovingBody] = {}
    for activity in activities:
        for body in activity.bodies.all():
            if body.is_active:
                seen.setdefault(body.pk, body)
    return sorted(seen.values(), key=lambda b: (b.sort_order, b.code))
