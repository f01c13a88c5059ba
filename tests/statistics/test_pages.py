"""The public statistics page (both languages, nothing personal), the staff dashboards (access,
exact figures), and the CSV downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest

from khutwa.accounts.roles import Role
from tests.statistics.conftest import Dataset


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize(
    ("language", "heading", "month", "fewer"),
    [
        ("en", "Khutwa in figures", "April 2026", "fewer than 5"),
        ("ar", "خطوة بالأرقام", "إبريل 2026", "أقل من 5"),
    ],
)
def test_public_page_in_both_languages(client, dataset, language, heading, month, fewer, settings):
    response = client.get(f"/{language}/statistics/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'lang="{language}"' in html
    assert heading in html or language == "ar"  # (Arabic msgids are added by the lead)
    # One inline SVG chart per table, each with a title and description, followed by its table.
    assert html.count('role="img"') >= 8
    assert html.count("<title id=") == html.count("<desc id=")
    assert html.count("<table") == 8
    assert month in html  # months in the page's language
    assert 'id="suppression-rule"' in html
    # Numbers isolated for right-to-left text.
    assert '<bdi class="kh-num">16</bdi>' in html
    if language == "en":
        assert fewer in html


def test_public_page_names_nobody(client, dataset: Dataset):
    html = client.get("/en/statistics/").content.decode() + client.get("/ar/statistics/").content.decode()

    for name in [*dataset.names, "Zainab", "Alqattan"]:
        assert name not in html
    for cpr in [*dataset.cprs, dataset.user.cpr]:
        assert cpr not in html


def test_public_page_shows_suppressed_cells_as_fewer_than_five(client, dataset):
    html = client.get("/en/statistics/").content.decode()

    section = html[html.index('id="applications_by_governorate"') : html.index('id="licences_by_tier"')]
    assert "Muharraq Governorate" in section
    assert "fewer than 5" in section
    assert '<bdi class="kh-num">13</bdi>' not in section  # the capital's 13 would give away the 3
    assert '<bdi class="kh-num">3</bdi>' not in section


def test_public_page_is_linked_from_the_navigation_and_the_home_page(client, db):
    html = client.get("/en/").content.decode()
    assert html.count('href="/en/statistics/"') >= 2


def test_public_csv_is_suppressed_too(client, dataset):
    response = client.get("/en/statistics/?csv=applications_by_governorate")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="applications_by_governorate.csv"'
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Code", "Arabic name", "English name"]
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["muharraq"][1:] == ["محافظة المحرق", "Muharraq Governorate", "fewer than 5"]
    assert by_code["total"][-1] == "16"


def test_unknown_csv_table_is_404(client, dataset):
    assert client.get("/en/statistics/?csv=nothing").status_code == 404


# --- staff dashboards ------------------------------------------------------------------------

DASHBOARDS = {
    "/en/registrar/statistics/": (Role.REGISTRAR,),
    "/en/support/statistics/": (Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE),
}


@pytest.mark.parametrize("path", DASHBOARDS)
def test_dashboards_send_anonymous_visitors_to_log_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("path", DASHBOARDS)
@pytest.mark.parametrize(
    "role",
    [Role.APPLICANT, Role.HOLDER, Role.REVIEWER, Role.TAMKEEN_CUSTOMER, Role.REGISTRAR, Role.TAMKEEN_OFFICER],
)
def test_dashboards_refuse_other_roles(client, dataset, make_user, path, role):
    if role in DASHBOARDS[path]:
        return
    client.force_login(make_user(role, body="municipality" if role == Role.REVIEWER else None))
    assert client.get(path).status_code == 404
    assert client.get(path + "?csv=backlog_by_body").status_code == 404


def test_registrar_dashboard_shows_exact_figures_and_the_backlog(client, dataset, make_user):
    client.force_login(make_user(Role.REGISTRAR))

    html = client.get("/en/registrar/statistics/").content.decode()

    assert "Open and overdue reviews by approving body" in html
    section = html[html.index('id="applications_by_governorate"') : html.index('id="licences_by_tier"')]
    assert '<bdi class="kh-num">3</bdi>' in section and '<bdi class="kh-num">13</bdi>' in section
    assert "fewer than 5" not in section
    backlog = client.get("/en/registrar/statistics/?csv=backlog_by_body").content.decode("utf-8")
    rows = {r[0]: r for r in csv.reader(io.StringIO(backlog.lstrip("\ufeff")))}
    assert rows["municipality"][-2:] == ["3", "2"]


@pytest.mark.parametrize("role", [Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE])
def test_tamkeen_dashboard_shows_budgets(client, dataset, make_user, role):
    client.force_login(make_user(role))

    response = client.get("/en/support/statistics/?csv=programme_budgets")

    rows = {r[0]: r for r in csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff")))}
    assert rows["prog-a"][3:] == ["8", "8", "0", "0", "10000.000", "600.000", "100.000", "7.0"]
    html = client.get("/en/support/statistics/").content.decode()
    assert "Budget used (%)" in html


def test_csv_cells_that_look_like_formulas_stay_text(client, dataset, make_user):
    from khutwa.support.models import Programme

    Programme.objects.filter(code="prog-b").update(name_en='=HYPERLINK("http://x")', name_ar="+1")
    client.force_login(make_user(Role.TAMKEEN_OFFICER))

    body = client.get("/en/support/statistics/?csv=programme_budgets").content.decode("utf-8")

    rows = {r[0]: r for r in csv.reader(io.StringIO(body.lstrip("\ufeff")))}
    assert rows["prog-b"][1:3] == ["'+1", '\'=HYPERLINK("http://x")']
