import re

import pytest

from khutwa.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_root_redirects_to_arabic(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/ar/"


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_home_has_lang_and_dir(client, lang, direction):
    html = client.get(f"/{lang}/").content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in html
    css = "bootstrap.rtl.min.css" if direction == "rtl" else "bootstrap.min.css"
    assert css in html
    assert "htmx.min.js" in html
    # Every script and style sheet is served by the platform itself, never from another host
    # (the page's random CSRF token may contain any letters, so look only at the addresses).
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert addresses and not [a for a in addresses if a.startswith(("http:", "https:", "//"))]


def test_arabic_home_is_in_arabic(client):
    html = client.get("/ar/").content.decode()
    assert "ابدأ مشروعك بخطوة" in html
    assert "Start your project with Khutwa" not in html


def test_language_switch_stays_on_the_same_page(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/ar/activities/"})
    assert response.status_code == 302
    assert response["Location"] == "/en/activities/"


def test_login_and_logout(client, make_user):
    make_user(Role.REGISTRAR, username="maryam", first_name="Maryam")
    response = client.post("/en/login/", {"username": "maryam", "password": "correct-horse-battery"})
    assert response.status_code == 302
    home = client.get("/en/").content.decode()
    assert "Welcome, Maryam" in home
    assert 'data-role-panel="registrar"' in home
    assert 'data-role-panel="reviewer"' not in home
    client.post("/en/logout/")
    assert "Welcome" not in client.get("/en/").content.decode()


def test_wrong_login_says_so(client, make_user):
    make_user(username="someone")
    response = client.post("/en/login/", {"username": "someone", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_home_is_role_aware(client, make_user):
    reviewer = make_user(Role.REVIEWER, body="food-control")
    client.force_login(reviewer)
    html = client.get("/en/").content.decode()
    assert 'data-role-panel="reviewer"' in html
    assert "Food Control Section" in html
    assert 'data-role-panel="registrar"' not in html


def test_activities_page_lists_the_catalogue_with_numbers_isolated(client):
    html = client.get("/ar/activities/").content.decode()
    assert "الخياطة والعبايات" in html
    assert re.search(r"<bdi class=\"kh-num\">10,000.000</bdi>", html)  # grouped, Western digits


def test_static_assets_are_served_locally(client, live_server):
    import urllib.request

    for path in (
        "/static/vendor/bootstrap/css/bootstrap.rtl.min.css",
        "/static/vendor/htmx/htmx.min.js",
        "/static/fonts/amiri/Amiri-Regular.ttf",
        "/static/fonts/ibm-plex-sans-arabic/ibm-plex-sans-arabic-arabic-400-normal.woff2",
    ):
        with urllib.request.urlopen(live_server.url + path) as response:  # noqa: S310
            assert response.status == 200


def test_amounts_keep_a_decimal_point_on_arabic_pages():
    from decimal import Decimal

    from django.template import Context, Template
    from django.utils import translation

    with translation.override("ar"):
        assert Template("{{ v }}").render(Context({"v": Decimal("150.000")})) == "150.000"
