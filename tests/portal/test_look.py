"""The look (issue 12, part 5): layout, navigation by role, statements, error pages, status
colours, amounts and names in the page's language."""

from __future__ import annotations

import posixpath
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.db import models
from django.test import Client, RequestFactory
from django.utils import translation
from django.views import defaults
from hypothesis import given
from hypothesis import strategies as st

from khutwa import display
from khutwa.accounts.roles import Role
from khutwa.approvals.models import InspectionOutcome, ReviewStatus
from khutwa.documents.models import Customer, CustomerKind, QuotationResponse
from khutwa.licensing.models import ApplicationStatus, LicenceEvent, LicenceStatus
from khutwa.portal.templatetags.khutwa import STATUS_MEANING, amount, status_class
from khutwa.support import models as support_models
from tests.licensing.factories import applicant, staff

pytestmark = pytest.mark.django_db


def nav_keys(html: str) -> list[str]:
    nav = html[html.index('id="kh-nav-links"') :]
    nav = nav[: nav.index("</ul>")]
    return re.findall(r'data-nav="([a-z_]+)"', nav)


def page(client: Client, path: str, user=None) -> str:  # type: ignore[no-untyped-def]
    if user is not None:
        client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


# Navigation by role ---------------------------------------------------------------------------


PUBLIC = ["home", "activities", "how_to_apply", "track", "statistics", "verify", "programmes"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, PUBLIC),
        (Role.APPLICANT, [*PUBLIC[:5], "my", "verify", "programmes"]),
        (
            Role.HOLDER,
            [*PUBLIC[:5], "my", "documents", "customers", "support", "verify", "programmes"],
        ),
        (
            Role.TAMKEEN_CUSTOMER,
            [*PUBLIC[:5], "documents", "support", "verify", "programmes"],
        ),
        (
            Role.REGISTRAR,
            ["home", "pipeline", "screening", "overdue", "licences", "statistics_registrar", "admin"],
        ),
        (Role.REVIEWER, ["home", "reviews"]),
        (Role.TAMKEEN_OFFICER, ["home", "support_queue", "support_reports", "statistics_tamkeen", "admin"]),
        (Role.TAMKEEN_FINANCE, ["home", "support_finance", "support_reports", "statistics_tamkeen"]),
    ],
)
def test_the_navigation_shows_what_each_role_uses_and_nothing_else(client, role, expected):
    user = None
    if role in (Role.APPLICANT, Role.HOLDER, Role.TAMKEEN_CUSTOMER):
        user = applicant()
        from khutwa.accounts.services import user_set_roles

        user_set_roles(user=user, roles=[role], actor=None)
        user.is_staff = False
        user.save()
    elif role is not None:
        user = staff(role, body="food-control" if role == Role.REVIEWER else None)
        if role in (Role.REGISTRAR, Role.TAMKEEN_OFFICER):
            user.is_staff = True
            user.save()
    assert nav_keys(page(client, "/en/", user)) == expected


def test_officers_and_finance_see_no_my_support_or_documents_link(client):
    for role in (Role.TAMKEEN_OFFICER, Role.TAMKEEN_FINANCE, Role.REGISTRAR):
        client.force_login(staff(role))
        html = client.get("/en/").content.decode()
        keys = nav_keys(html)
        assert "support" not in keys and "documents" not in keys, role
        assert ">My support<" not in html and ">Documents<" not in html, role


def test_the_current_page_is_marked_in_the_navigation(client):
    html = page(client, "/en/activities/")
    assert re.search(r'aria-current="page"[^>]*>Activities', html) or re.search(
        r'data-nav="activities" aria-current="page"', html
    )
    assert html.count('aria-current="page"') == 1


@pytest.mark.parametrize(
    ("role", "panel", "links"),
    [
        (Role.TAMKEEN_OFFICER, "tamkeen", ["/en/support/queue/", "/en/support/reports/"]),
        (Role.TAMKEEN_FINANCE, "finance", ["/en/support/finance/", "/en/support/reports/"]),
        (
            Role.REGISTRAR,
            "registrar",
            ["/en/registrar/", "/en/registrar/overdue/", "/en/registrar/licences/"],
        ),
    ],
)
def test_home_cards_link_to_the_roles_pages(client, role, panel, links):
    html = page(client, "/en/", staff(role))
    card = html[html.index(f'data-role-panel="{panel}"') :]
    card = card[: card.index("</div></div></div>")]
    for link in links:
        assert f'href="{link}"' in card, link


# Layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_page_has_the_skip_link_first_the_government_names_and_the_footer(client, lang):
    html = page(client, f"/{lang}/")
    body = html[html.index("<body") :]
    first_link = re.search(r"<a [^>]*>", body)
    assert first_link is not None and 'href="#main"' in first_link.group(0)
    assert '<main class="container mb-5" id="main" tabindex="-1">' in html
    assert 'id="kh-gov-names"' in html
    footer = html[html.index('id="kh-footer"') :]
    assert f'href="/{lang}/privacy/"' in footer and f'href="/{lang}/accessibility/"' in footer
    if lang == "en":
        assert "Juffair" in footer
        assert "Skip to main content" in html
        assert "Ministry of Social Development" in html and "Labour Fund Tamkeen" in html


@pytest.mark.parametrize(
    ("lang", "name", "says"),
    [
        ("en", "privacy", "CPR number"),
        ("ar", "privacy", "الرقم الشخصي"),
        ("en", "accessibility", "WCAG 2.2"),
        ("en", "accessibility", "Report a problem"),
        ("ar", "accessibility", "أبلغ عن مشكلة"),
    ],
)
def test_the_statements_are_written_in_the_pages_language(client, lang, name, says):
    html = page(client, f"/{lang}/{name}/")
    assert f'id="statement-{name}"' in html
    assert says in html
    other = "الرقم الشخصي" if lang == "en" else "CPR number"
    assert other not in html


def test_the_ui_font_is_served_from_static_files_in_the_weights_the_css_uses():
    css = open(finders.find("portal/khutwa.css"), encoding="utf-8").read()  # noqa: SIM115
    faces = re.findall(r"@font-face \{(.*?)\}", css, flags=re.S)
    assert faces and all('"IBM Plex Sans Arabic"' in f and "font-display: swap" in f for f in faces)
    weights = {re.search(r"font-weight: (\d+)", f).group(1) for f in faces}  # type: ignore[union-attr]
    assert weights == {"400", "700"}
    urls = re.findall(r'url\("([^"]+)"\)', css)
    assert urls
    for url in urls:  # relative to the stylesheet, /static/portal/khutwa.css
        assert finders.find(posixpath.normpath(posixpath.join("portal", url))), url
    assert '"IBM Plex Sans Arabic"' in css.split("--bs-font-sans-serif:")[1].split(";")[0]


def test_the_admin_carries_khutwas_name_in_the_pages_language():
    with translation.override("en"):
        assert str(admin.site.site_header) == "Khutwa administration"
        assert str(admin.site.site_title) == "Khutwa"


# Error pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_missing_page_is_a_404_in_the_sites_layout_and_language(client, lang):
    response = client.get(f"/{lang}/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html
    assert 'id="error-page" data-status="404"' in html and 'id="kh-footer"' in html
    if lang == "en":
        assert "Page not found" in html


def test_a_refused_page_is_a_403_in_the_sites_layout():
    request = RequestFactory().get("/en/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with translation.override("en"):
        response = defaults.permission_denied(request, Exception())
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-status="403"' in html and "You cannot open this page" in html and 'id="main"' in html


def test_the_500_page_needs_neither_the_database_nor_the_user(django_assert_num_queries):
    request = RequestFactory().get("/en/")  # no user, no session
    with translation.override("en"), django_assert_num_queries(0):
        response = defaults.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-status="500"' in html and "Sorry, there is a problem with the service" in html
    assert 'href="#main"' in html and 'id="kh-footer"' in html and '<html lang="en"' in html


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_form_without_its_token_gets_the_sites_page_and_changes_nothing(lang):
    from khutwa.audit.models import AuditEvent

    client = Client(enforce_csrf_checks=True)
    before = AuditEvent.objects.count()
    response = client.post(f"/{lang}/track/", {"reference": "APP-2026-000001", "cpr_last4": "1234"})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-reason="csrf"' in html and f'<html lang="{lang}"' in html
    if lang == "en":
        assert "The form has expired" in html and "Nothing was saved." in html
    assert AuditEvent.objects.count() == before


# Status colours ------------------------------------------------------------------------------


STATUS_CHOICES: list[type[models.TextChoices]] = [
    ApplicationStatus,
    ReviewStatus,
    InspectionOutcome,
    LicenceStatus,
    LicenceEvent.Kind,
    QuotationResponse.Answer,
    support_models.ApplicationStatus,
    support_models.ClaimStatus,
    support_models.BatchStatus,
]


@pytest.mark.parametrize("choices", STATUS_CHOICES, ids=lambda c: c.__qualname__)
def test_every_status_has_a_colour_by_meaning(choices):
    for value in choices.values:
        assert value in STATUS_MEANING, (choices.__qualname__, value)


def test_waiting_is_never_shown_as_an_error_and_refusals_are():
    for waiting in ("submitted", "screening", "in_review", "pending", "claimed", "scheduled"):
        assert status_class(waiting) == "info", waiting
    for refused in ("rejected", "failed", "cancelled"):
        assert status_class(refused) == "danger", refused
    assert status_class("info_requested") == "warning"
    assert status_class("licence_issued") == status_class("paid") == "success"


# Amounts and names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("49675"), "49,675.000"),
        ("49675.000", "49,675.000"),
        ("1234567.8915", "1,234,567.892"),
        (Decimal("0.5"), "0.500"),
        ("-1500.25", "-1,500.250"),
        ("", ""),
        (None, ""),
        ("n/a", "n/a"),
    ],
)
def test_amounts_are_grouped_with_three_decimals(value, shown):
    assert amount(value) == shown
    with translation.override("ar"):
        assert amount(value) == shown  # Western digits and a point on Arabic pages too


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=3, allow_nan=False))
def test_a_grouped_amount_reads_back_as_the_same_amount(value):
    assert Decimal(amount(value).replace(",", "")) == value


def test_names_follow_the_pages_language_and_fall_back_to_the_other(db):
    user = applicant()
    user.first_name, user.last_name, user.name_ar = "Maryam", "Ali", "مريم علي"
    with translation.override("ar"):
        assert user.display_name == "مريم علي"
    with translation.override("en"):
        assert user.display_name == "Maryam Ali"
    user.name_ar = ""
    with translation.override("ar"):
        assert user.display_name == "Maryam Ali"
    user.first_name = user.last_name = ""
    assert user.display_name == user.username
    customer = Customer(owner=user, kind=CustomerKind.INDIVIDUAL, name_ar="زينب", name_en="Zainab")
    with translation.override("ar"):
        assert str(customer) == "زينب" and display.display_name(customer) == "زينب"
    with translation.override("en"):
        assert str(customer) == "Zainab"
    customer.name_en = ""
    with translation.override("en"):
        assert str(customer) == "زينب"


@pytest.mark.parametrize(("lang", "shown"), [("ar", "مريم"), ("en", "Maryam")])
def test_the_header_greets_the_user_in_the_pages_language(client, lang, shown):
    user = applicant()
    user.first_name, user.name_ar = "Maryam", "مريم"
    user.save()
    html = page(client, f"/{lang}/", user)
    assert f'id="current-user">{shown}<' in html


def test_every_unit_has_a_label_for_pages_and_the_document_line_shows_it(client):
    from khutwa.documents.services import UNIT_LABELS, UNITS
    from khutwa.portal.templatetags.khutwa import unit_label

    assert set(UNIT_LABELS) == set(UNITS)
    with translation.override("en"):
        assert [unit_label(u) for u in UNITS] == [str(UNIT_LABELS[u]) for u in UNITS]
    assert unit_label("furlong") == "furlong"
    from django.template.loader import render_to_string

    with translation.override("en"):
        html = render_to_string("portal/_document_line.html", {"i": 0, "units": UNITS, "activities": []})
    assert '<option value="kg">kg</option>' in html
    assert "unit_label" not in html
