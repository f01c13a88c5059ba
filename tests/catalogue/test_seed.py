import pytest

from khutwa.audit.models import AuditEvent
from khutwa.catalogue import seed
from khutwa.catalogue.models import Activity, Governorate, LicenceTier, Weekday

pytestmark = pytest.mark.django_db


def test_every_activity_of_the_brief_is_seeded_with_its_bodies():
    assert Activity.objects.count() == len(seed.ACTIVITIES) == 24
    for activity in Activity.objects.prefetch_related("bodies"):
        codes = {b.code for b in activity.bodies.all()}
        assert {"municipality", "civil-defence"} <= codes, activity.code
        needs_food_control = activity.is_food or activity.code == "cooking-lessons"
        assert ("food-control" in codes) == needs_food_control, activity.code
    assert Activity.objects.filter(is_food=True).count() == 5
    assert Activity.objects.get(code="sewing-abayas").name_ar == "الخياطة والعبايات"


def test_three_tiers_four_governorates_and_a_sunday_to_thursday_week():
    assert list(LicenceTier.objects.values_list("code", "max_activities")) == [
        ("basic", 1),
        ("standard", 3),
        ("extended", 5),
    ]
    assert Governorate.objects.count() == 4
    working = set(Weekday.objects.filter(is_working_day=True).values_list("iso_weekday", flat=True))
    assert working == {7, 1, 2, 3, 4}


def test_the_registrar_edits_an_activity_in_the_admin_and_it_is_audited(client, registrar):
    client.force_login(registrar)
    activity = Activity.objects.get(code="watch-repair")
    url = f"/en/admin/catalogue/activity/{activity.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "code": "watch-repair",
            "name_ar": "تصليح الساعات والمجوهرات",
            "name_en": "Watch and jewellery repair",
            "sort_order": 13,
            "category": activity.category_id,
            "bodies": [b.pk for b in activity.bodies.all()],
            "requires_inspection": "on",
            "to_prepare_ar": "x",
            "to_prepare_en": "y",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    activity.refresh_from_db()
    assert activity.name_en == "Watch and jewellery repair"
    assert activity.requires_inspection
    event = AuditEvent.objects.filter(action="catalogue.activity.change").get()
    assert event.actor_username == "reg"
    assert event.before["name_en"] == "Watch repair"
    assert event.after["name_en"] == "Watch and jewellery repair"


def test_the_registrar_adds_a_public_holiday(client, registrar):
    client.force_login(registrar)
    response = client.post(
        "/en/admin/catalogue/publicholiday/add/",
        {"date": "2026-03-20", "name_ar": "عيد الفطر", "name_en": "Eid al-Fitr"},
    )
    assert response.status_code == 302
    import datetime as dt

    from khutwa.catalogue.selectors import work_calendar

    assert not work_calendar().is_working_day(dt.date(2026, 3, 20))


def test_an_invalid_activity_code_is_refused_in_the_admin_and_nothing_is_saved(client, registrar):
    client.force_login(registrar)
    before = Activity.objects.count()
    response = client.post(
        "/en/admin/catalogue/activity/add/",
        {
            "code": "Bad Code!",
            "name_ar": "س",
            "name_en": "x",
            "sort_order": 1,
            "category": Activity.objects.first().category_id,
            "bodies": [],
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "code" in errors and "bodies" in errors
    assert Activity.objects.count() == before
