"""The layout (`portal/base.html`) and the verify page (issue 14, part V): what is the same for
every visitor in a language is rendered once per process and language; what is the request's own
(the user, the path, the CSRF token, the badge, the verdict) is rendered on every request and
never kept for the next visitor."""

import re

import pytest
from django.template import defaulttags
from django.templatetags import i18n, static
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.documents import services
from khutwa.documents.models import DocumentType
from khutwa.licensing.models import Notice
from khutwa.portal.templatetags import fragments
from tests.documents.conftest import customer, holder, licence, line, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

LAYOUT = {"portal/base.html", "portal/verify.html"}


@pytest.fixture
def document(holder, customer, settings):  # noqa: F811 - fixtures
    settings.KHUTWA_PUBLIC_RATE = "6400/m"
    return services.document_issue(
        actor=holder,
        data=services.DocumentInput(type=DocumentType.INVOICE, customer=customer.pk, lines=[line()]),
        now=timezone.now(),
    ).document


@pytest.fixture
def fixed_work(monkeypatch):
    """The `{% url %}`, `{% translate %}` and `{% static %}` tags of the layout and the verify
    page rendered from here on (the real tags, counted), by template and tag."""
    rendered: list[tuple[str, str]] = []
    for node in (defaulttags.URLNode, i18n.TranslateNode, static.StaticNode):

        def counting(self, context, _render=node.render, _name=node.__name__):
            if self.origin.template_name in LAYOUT:
                rendered.append((self.origin.template_name, _name))
            return _render(self, context)

        monkeypatch.setattr(node, "render", counting)
    return rendered


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_a_page_rendered_again_reverses_translates_and_joins_nothing_fixed(
    client, document, make_user, fixed_work
):
    reviewer = make_user(Role.REVIEWER, body="municipality")
    paths = ["/ar/", f"/ar/verify/{document.public_id}", f"/en/verify/{document.public_id}"]
    for path in paths:
        page(client, path)  # the first visitor in the language: the fragments are made
    client.force_login(reviewer)
    page(client, "/ar/reviews/")
    fixed_work.clear()

    page(client, "/ar/reviews/")
    client.logout()
    for path in paths:
        page(client, path)

    # (The link to the document's own licence: `{% row_url %}`, the halves reversed once.)
    assert fixed_work == [], fixed_work


def test_the_layout_in_each_language_is_the_one_for_that_language(client, document):
    fragments.clear()
    for lang, direction, css, other, label, query in (
        ("ar", "rtl", "bootstrap.rtl.min.css", "en", "مملكة البحرين", "from=qr&x=1"),
        ("en", "ltr", "bootstrap.min.css", "ar", "Kingdom of Bahrain", "from=qr&x=1"),
        ("ar", "rtl", "bootstrap.rtl.min.css", "en", "مملكة البحرين", "from=link"),  # kept fragments
    ):
        html = page(client, f"/{lang}/verify/{document.public_id}?{query}")
        assert f'<html lang="{lang}" dir="{direction}">' in html
        assert css in html and label in html
        assert f'<button type="submit" name="language" value="{other}"' in html
        # The switch returns to this page, its query included.
        here = f"/{lang}/verify/{document.public_id}?{query}".replace("&", "&amp;")
        assert f'name="next" type="hidden" value="{here}"' in html
        assert f'href="/{lang}/privacy/"' in html and f'href="/{lang}/verify/"' in html
        assert f'href="/{lang}/licences/{document.licence.number}-' in html  # the verdict's link
        assert 'data-nav="verify" aria-current="page">' in html  # the current link
        assert 'id="verdict" data-valid="true"' in html


def test_the_verify_pages_labels_follow_the_verdict(client, document):
    fragments.clear()
    english = page(client, f"/en/verify/{document.public_id}")
    assert "Authentic: this official document was issued on Khutwa" in english
    assert '<dt class="col-sm-4">Paid</dt><dd class="col-sm-8">No</dd>' in english
    forged = page(client, f"/en/verify/{document.public_id}?s=AAAA&g=BBBB")
    assert "Not valid: this document could not be verified." in forged
    assert 'id="technical-reasons"' in forged and "Authentic:" not in forged
    arabic = page(client, f"/ar/verify/{document.public_id}?s=AAAA&g=BBBB")
    assert 'id="reasons"' in arabic and 'id="technical-reasons"' not in arabic  # experts: English only
    assert "Authentic:" not in arabic and "Not valid" not in arabic


def test_each_person_sees_their_own_name_token_and_badge_never_anothers(
    client,
    document,
    holder,  # noqa: F811 - the fixture
    make_user,
):
    fragments.clear()
    holder.first_name, holder.last_name, holder.name_ar = "Fatima", "Holder", "فاطمة"
    holder.save()
    other = make_user(Role.HOLDER, first_name="Maryam", last_name="Other", name_ar="مريم")
    now = timezone.now()
    Notice.objects.filter(user=holder).delete()
    Notice.objects.bulk_create(
        Notice(user=holder, message_ar="م", message_en="m", created_at=now) for _ in range(3)
    )
    client.force_login(holder)
    mine = page(client, "/en/documents/")
    client.force_login(other)
    theirs = page(client, "/en/documents/")
    client.logout()
    anonymous = page(client, "/en/")

    assert 'id="current-user">Fatima Holder</a>' in mine and "Maryam" not in mine
    assert 'id="current-user">Maryam Other</a>' in theirs and "Fatima" not in theirs
    assert 'id="current-user"' not in anonymous and 'href="/en/login/"' in anonymous
    assert "<bdi>3</bdi>" in mine and "text-bg-danger" not in theirs  # the badge: the person's own
    assert 'data-nav="documents" aria-current="page">' in mine and 'data-nav="documents"' not in anonymous
    tokens = [re.findall(r'"X-CSRFToken": "([^"]+)"', html) for html in (mine, theirs)]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]  # per request, never kept


def test_a_reviewer_sees_the_staff_links_only(client, make_user):
    reviewer = make_user(Role.REVIEWER, body="municipality")
    client.force_login(reviewer)
    html = page(client, "/ar/reviews/")
    assert 'data-nav="reviews" aria-current="page">' in html
    assert 'data-nav="documents"' not in html and 'data-nav="activities"' not in html
    assert 'href="/ar/account/notifications/"' in html and 'action="/ar/logout/"' in html
