"""The staff lists' rows drawn in Python (portal/rows.py) with per-language choice labels, links
from one reverse() per URL name, the base template's shared fragments, and each list page's
queries counted: the rows say what the template said, in the reader's language, escaped."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from khutwa import display
from khutwa.approvals.models import Review, ReviewStatus
from khutwa.licensing.models import Application, ApplicationStatus, Licence, LicenceStatus
from khutwa.portal.templatetags import fragments
from khutwa.portal.templatetags import khutwa as tags
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        (Application, "status", ApplicationStatus.values),
        (Review, "status", ReviewStatus.values),
        (Licence, "status", LicenceStatus.values),
        (Application, "kind", [v for v, _label in Application._meta.get_field("kind").flatchoices]),
    ],
)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_choice_label_is_what_get_display_shows_in_each_language(model, field, values, language):
    display._CHOICE_LABELS.clear()
    for first in ("en", "ar"):  # a map built in one language never answers for the other
        with translation.override(first):
            display.choice_label(model(**{field: values[0]}), field)
    with translation.override(language):
        for value in [*values, "no-such-value"]:
            obj = model(**{field: value})
            expected = getattr(obj, f"get_{field}_display")()
            assert display.choice_label(obj, field) == expected
            assert tags.label(obj, field) == expected


def test_the_queue_shows_its_statuses_in_arabic_and_in_english(client, world):
    app = world.in_review(user=applicant(), activities=["home-meals"])
    review = Review.objects.get(application=app, body__code="food-control")
    Review.objects.filter(pk=review.pk).update(due_date=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(world.reviewers["food-control"])

    arabic = client.get("/ar/reviews/").content.decode()
    english = client.get("/en/reviews/").content.decode()
    arabic_again = client.get("/ar/reviews/").content.decode()

    with translation.override("ar"):
        pending_ar, overdue_ar = str(ReviewStatus.PENDING.label), translation.gettext("overdue")
    assert pending_ar != "Pending" and overdue_ar != "overdue"  # the catalogue has them
    assert f">{pending_ar}</span>" in arabic and f">{overdue_ar}</span>" in arabic
    assert ">Pending</span>" in english and ">overdue</span>" in english
    assert ">Pending</span>" not in arabic_again
    assert f'href="/ar/reviews/{review.pk}/"' in arabic and f'href="/en/reviews/{review.pk}/"' in english
    assert f"<bdi>{app.reference}</bdi>" in english and 'class="text-danger fw-bold"' in english


def test_pipeline_and_licences_rows_in_both_languages(client, world):
    licence = world.licensed(user=applicant())
    app = world.submitted(user=applicant())
    client.force_login(world.registrar)

    for language in ("en", "ar"):
        with translation.override(language):
            submitted = str(ApplicationStatus.SUBMITTED.label)
            active = str(LicenceStatus.ACTIVE.label)
            governorate = app.governorate.name
        pipeline = client.get(f"/{language}/registrar/").content.decode()
        licences = client.get(f"/{language}/registrar/licences/").content.decode()
        assert f">{submitted}</span>" in pipeline and f"<td>{governorate}</td>" in pipeline
        assert f'href="/{language}/applications/{app.pk}/"' in pipeline
        assert f">{active}</span>" in licences
        assert f'href="/{language}/licence/{licence.number}/"' in licences
        assert f"<bdi>{timezone.localtime(app.created_at):%Y-%m-%d}</bdi>" in pipeline


def test_a_row_escapes_what_people_typed(client, world):
    app = world.submitted(user=applicant())
    Application.objects.filter(pk=app.pk).update(trade_name='<script>alert("x")</script>')
    client.force_login(world.registrar)

    page = client.get("/en/registrar/").content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.parametrize("language", ["ar", "en"])
def test_row_links_are_what_reverse_gives(language):
    with translation.override(language):
        for name, value in [
            ("portal:review", 7),
            ("portal:application", 123456789),
            ("portal:licence", "KH-2026-000001"),
            ("portal:licence", "a b+ج"),  # needs quoting: reverse() itself
        ]:
            assert tags.url_with(name, value) == reverse(name, args=[value])


def test_per_language_fragments_are_kept_per_language(client):
    fragments.clear()
    english = client.get("/en/").content.decode()
    arabic = client.get("/ar/").content.decode()
    english_again = client.get("/en/").content.decode()

    with translation.override("ar"):
        kingdom_ar = translation.gettext("Kingdom of Bahrain")
        privacy_ar = translation.gettext("Privacy statement")
    assert "<span>Kingdom of Bahrain</span>" in english and "<span>Kingdom of Bahrain</span>" in english_again
    assert f"<span>{kingdom_ar}</span>" in arabic and "Kingdom of Bahrain" not in arabic
    assert f">{privacy_ar}</a>" in arabic and 'href="/en/privacy/"' in english_again
    assert "bootstrap.rtl.min.css" in arabic and "bootstrap.rtl.min.css" not in english_again


def test_a_staff_page_does_not_count_notices(client, world, django_assert_num_queries):
    app = world.submitted(user=applicant())
    client.force_login(world.registrar)
    client.get("/en/registrar/licences/")
    with django_assert_num_queries(LICENCES_QUERIES):
        client.get("/en/registrar/licences/")
    client.force_login(app.applicant)
    assert 'data-nav="my"' in client.get("/en/my/").content.decode()


# Per request: the session, the user with their roles (accounts.selectors.user_for_session); then the page's.
LICENCES_QUERIES = 2 + 1  # the page of licences (tier joined)
QUEUE_QUERIES = 2 + 2  # the page of reviews (application joined), the reviewer's body
PIPELINE_QUERIES = 2 + 5  # the page, the capped counts (one), overdue: bodies + capped counts, governorates
OVERDUE_QUERIES = 2 + 3  # the page (application and body joined), overdue: bodies + capped counts


@pytest.mark.parametrize(
    ("who", "url", "queries"),
    [
        ("reviewer", "/ar/reviews/", QUEUE_QUERIES),
        ("reviewer", "/ar/reviews/?overdue=1", QUEUE_QUERIES),
        ("reviewer", "/ar/reviews/?q=APP-2026-000001", QUEUE_QUERIES),
        ("registrar", "/ar/registrar/", PIPELINE_QUERIES),
        ("registrar", "/ar/registrar/?status=in_review", PIPELINE_QUERIES),
        ("registrar", "/ar/registrar/overdue/", OVERDUE_QUERIES),
        ("registrar", "/ar/registrar/licences/", LICENCES_QUERIES),
    ],
)
def test_each_list_page_reads_a_fixed_number_of_times(
    client, world, django_assert_num_queries, who, url, queries
):
    for _ in range(3):
        world.in_review(user=applicant(), activities=["home-meals"])
    world.licensed(user=applicant())
    Review.objects.update(due_date=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(world.reviewers["food-control"] if who == "reviewer" else world.registrar)
    first = client.get(url)
    assert first.status_code == 200 and b"<tr" in first.content

    with django_assert_num_queries(queries):
        client.get(url)
