from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from khutwa.api.schemas import ActivityOut, BodyOut, ListOut, TierOut
from khutwa.catalogue.selectors import activity_list, body_list, tier_list

router = Router(tags=["catalogue"])


@router.get("/activities", response=ListOut[ActivityOut], auth=None, summary="Licensable activities")
def activities(request: HttpRequest) -> dict:
    items = [
        ActivityOut(
            code=a.code,
            name_ar=a.name_ar,
            name_en=a.name_en,
            category=a.category.code,
            bodies=[b.code for b in a.bodies.all()],
            is_food=a.is_food,
            requires_inspection=a.requires_inspection,
        )
        for a in activity_list()
    ]
    return {"items": items, "count": len(items)}


@router.get("/bodies", response=ListOut[BodyOut], auth=None, summary="Approving bodies")
def bodies(request: HttpRequest) -> dict:
    items = [BodyOut.model_validate(b, from_attributes=True) for b in body_list()]
    return {"items": items, "count": len(items)}


@router.get("/tiers", response=ListOut[TierOut], auth=None, summary="Licence tiers")
def tiers(request: HttpRequest) -> dict:
    items = [
        TierOut(
            code=t.code,
            name_ar=t.name_ar,
            name_en=t.name_en,
            max_activities=t.max_activities,
            turnover_ceiling=f"{t.turnover_ceiling:.3f}",
            validity_months=t.validity_months,
        )
        for t in tier_list()
    ]
    return {"items": items, "count": len(items)}
