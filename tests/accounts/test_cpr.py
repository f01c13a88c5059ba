import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from khutwa.accounts.models import User
from khutwa.accounts.validators import validate_cpr


@pytest.mark.parametrize("cpr", ["850101234", "000000001", "999999999"])
def test_nine_digits_are_a_valid_cpr(cpr):
    validate_cpr(cpr)


@pytest.mark.parametrize(
    "cpr", ["", "12345678", "1234567890", "85010123a", " 85010123", "٨٥٠١٠١٢٣٤", "850-10123"]
)
def test_anything_else_is_refused(cpr):
    with pytest.raises(ValidationError) as exc:
        validate_cpr(cpr)
    assert exc.value.code == "invalid_cpr"


def test_the_message_is_in_the_users_language():
    messages = {}
    for language in ("en", "ar"):
        with translation.override(language):
            with pytest.raises(ValidationError) as exc:
                validate_cpr("123")
            messages[language] = str(exc.value.messages[0])
    assert "exactly 9 digits" in messages["en"]
    assert messages["ar"] == "يجب أن يتكون الرقم الشخصي من 9 أرقام بالضبط (مثال: 850101234)."


@pytest.mark.django_db
def test_a_user_with_a_bad_cpr_fails_full_clean_on_the_cpr_field():
    user = User(username="x", cpr="12")
    user.set_unusable_password()
    with pytest.raises(ValidationError) as exc:
        user.full_clean()
    assert "cpr" in exc.value.message_dict


@pytest.mark.django_db
def test_admin_refuses_a_bad_cpr_naming_the_field_and_saves_nothing(client, make_user):
    from khutwa.accounts.roles import Role

    admin_user = make_user(Role.SYSADMIN, username="sysadmin")
    client.force_login(admin_user)
    target = make_user(username="target")
    url = f"/en/admin/accounts/user/{target.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        {
            "username": "target",
            "cpr": "12ab",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "is_active": "on",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "cpr" in response.context["adminform"].form.errors
    assert "exactly 9 digits" in str(response.context["adminform"].form.errors["cpr"])
    target.refresh_from_db()
    assert target.cpr is None
