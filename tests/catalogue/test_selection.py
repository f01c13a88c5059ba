import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from khutwa.catalogue.models import Activity
from khutwa.catalogue.services import activity_selection_validate, bodies_required

pytestmark = pytest.mark.django_db


def test_a_valid_selection_returns_the_tier_and_activities_in_order():
    tier, activities = activity_selection_validate(
        tier_code="standard", activity_codes=["home-meals", "sewing-abayas"]
    )
    assert tier.code == "standard"
    assert [a.code for a in activities] == ["home-meals", "sewing-abayas"]


def test_an_unknown_activity_is_named():
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        activity_selection_validate(tier_code="basic", activity_codes=["astrology"])
    assert exc.value.message_dict["activities"] == ["Unknown activity “astrology”."]


def test_more_activities_than_the_tier_allows_is_refused():
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        activity_selection_validate(tier_code="basic", activity_codes=["home-meals", "sewing-abayas"])
    assert "at most 1 activity" in exc.value.message_dict["activities"][0]


def test_an_unknown_tier_and_an_empty_choice_name_both_fields():
    with pytest.raises(ValidationError) as exc:
        activity_selection_validate(tier_code="platinum", activity_codes=[])
    assert set(exc.value.message_dict) == {"tier", "activities"}


def test_duplicates_are_refused():
    with pytest.raises(ValidationError) as exc:
        activity_selection_validate(tier_code="extended", activity_codes=["pottery", "pottery"])
    assert "activities" in exc.value.message_dict


@pytest.mark.parametrize(
    ("codes", "bodies"),
    [
        (["sewing-abayas"], ["municipality", "civil-defence"]),
        (["home-meals"], ["municipality", "civil-defence", "food-control"]),
        (["sewing-abayas", "sweets-pastries"], ["municipality", "civil-defence", "food-control"]),
        (["cooking-lessons"], ["municipality", "civil-defence", "food-control"]),
    ],
)
def test_the_bodies_required_are_the_union_over_the_activities(codes, bodies):
    activities = list(Activity.objects.filter(code__in=codes).prefetch_related("bodies"))
    assert [b.code for b in bodies_required(activities)] == bodies
