import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from khutwa.accounts.demo import DEMO_ACCOUNTS
from khutwa.accounts.models import User
from khutwa.accounts.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_exactly_its_permissions():
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(perms), role


def test_registrar_may_edit_the_catalogue_and_a_reviewer_may_not(make_user):
    registrar = make_user(Role.REGISTRAR)
    reviewer = make_user(Role.REVIEWER, body="municipality")
    assert registrar.is_staff
    assert registrar.has_perm("catalogue.change_activity")
    assert not reviewer.has_perm("catalogue.change_activity")
    assert not reviewer.is_staff


def test_catalogue_admin_page_is_open_to_the_registrar_only(client, make_user):
    registrar = make_user(Role.REGISTRAR)
    customer = make_user(Role.TAMKEEN_CUSTOMER)
    client.force_login(customer)
    assert client.get("/en/admin/catalogue/activity/").status_code == 302  # to the admin login
    client.force_login(registrar)
    assert client.get("/en/admin/catalogue/activity/").status_code == 200


def test_a_reviewer_without_a_body_fails_validation(make_user):
    from django.core.exceptions import ValidationError

    reviewer = make_user(Role.REVIEWER)
    with pytest.raises(ValidationError) as exc:
        reviewer.full_clean()
    assert "body" in exc.value.message_dict


def test_demo_creates_every_account_idempotently_and_they_can_log_in(client, settings):
    settings.KHUTWA_DEMO_PASSWORD = "demo-pass-123"
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo = User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS])
    assert demo.count() == len(DEMO_ACCOUNTS)
    # Every other user the demo makes is data only: nobody can log in as them.
    assert not any(u.has_usable_password() for u in User.objects.exclude(pk__in=demo))
    for spec in DEMO_ACCOUNTS:
        user = User.objects.get(username=spec.username)
        assert set(user.groups.values_list("name", flat=True)) == set(spec.roles)
        # Through the login page, as a person would (staff: no second factor in development).
        browser = Client()
        response = browser.post("/en/login/", {"username": spec.username, "password": "demo-pass-123"})
        assert response.status_code == 302, spec.username
        assert browser.get("/en/").context["user"].username == spec.username
    assert User.objects.get(username="reviewer-health").body.code == "food-control"
    assert User.objects.get(username="reviewer-municipality").body.code == "municipality"
    assert User.objects.get(username="reviewer-civildefence").body.code == "civil-defence"


def test_no_account_exists_before_the_demo_command():
    assert not User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).exists()
