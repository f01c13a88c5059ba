"""Public verification reads the document once: the page and the API build what they show from
the verdict statement's row (one indexed read), and the page's layout parts that are the same for
every visitor are rendered once per language."""

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from khutwa import ratelimit
from khutwa.documents import verdict_function
from khutwa.documents.verification import verdict_statements
from khutwa.portal.templatetags import fragments
from tests.documents.test_volume_reads import invoices

pytestmark = pytest.mark.django_db


def reads_of_documents(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    # On PostgreSQL the verdict's statement is read through its function (verdict_function.py).
    return response, sql, [s for s in sql if "documents_document" in s or verdict_function.PREFIX in s]


@pytest.mark.parametrize("prefix", ["/en/verify/", "/api/v1/verify/"])
def test_the_page_and_the_api_read_the_document_once(client, holder, customer, prefix):
    document = invoices(holder, customer, 1)[0]
    path = f"{prefix}{document.public_id}"
    client.get(path)  # warm what is cached (keys)
    _response, sql, documents = reads_of_documents(client, path)
    assert len(documents) == 1, documents  # the verdict statement, nothing else
    if connection.vendor == "postgresql":
        [(statement, _key)] = verdict_statements(connection.vendor)
        call = f"SELECT * FROM {verdict_function.function_name(statement)}("  # noqa: S608
        assert documents[0].startswith(call)
    else:
        assert documents[0].lstrip().startswith("SELECT d.id, d.payload")
    assert not [s for s in sql if "licensing_licence" in s and s is not documents[0]]


def test_the_page_makes_no_more_queries_than_the_api(client, holder, customer, settings, monkeypatch):
    # Between two writes of the rate limit's count (a batch, khutwa/ratelimit.py) neither
    # touches the shared cache, and the log's newest checkpoint comes with the verdict
    # statement: the page and the API make that one query (before: the rate limit's cache read
    # and write on every request, and the checkpoint's own query).
    settings.KHUTWA_PUBLIC_RATE = "6400/m"  # a batch of 100
    monkeypatch.setattr(ratelimit, "FLUSH_SECONDS", 3600.0)
    document = invoices(holder, customer, 1)[0]
    page, api = f"/en/verify/{document.public_id}", f"/api/v1/verify/{document.public_id}"
    client.get(page), client.get(api)
    _response, page_sql, _ = reads_of_documents(client, page)
    _response, api_sql, _ = reads_of_documents(client, api)
    assert len(page_sql) == len(api_sql) == 1, (page_sql, api_sql)
    assert not [s for s in page_sql + api_sql if "khutwa_cache" in s]


def test_the_page_shows_the_facts_from_the_verdict(client, holder, customer, licence):
    document = invoices(holder, customer, 1)[0]
    body = client.get(f"/en/verify/{document.public_id}").content.decode()
    assert f"Invoice <bdi>{document.number}</bdi>" in body
    assert f"/en/licences/{licence.public_ref}" in body and f"<bdi>{licence.number}</bdi>" in body
    assert ">Active</span>" in body and document.hash in body
    arabic = client.get(f"/ar/verify/{document.public_id}").content.decode()
    assert f"/ar/licences/{licence.public_ref}" in arabic and "فاتورة" in arabic


def test_the_layouts_fixed_parts_are_per_language(client, holder, customer):
    fragments.clear()
    document = invoices(holder, customer, 1)[0]
    english = client.get(f"/en/verify/{document.public_id}").content.decode()
    arabic = client.get(f"/ar/verify/{document.public_id}").content.decode()
    again = client.get(f"/en/verify/{document.public_id}").content.decode()
    assert "Kingdom of Bahrain" in english and "Kingdom of Bahrain" in again
    assert "Kingdom of Bahrain" not in arabic and "مملكة البحرين" in arabic
    assert 'href="/en/privacy' in english and 'href="/ar/privacy' in arabic
    assert "bootstrap.min.css" in english and "bootstrap.rtl.min.css" in arabic
    assert 'href="/ar/how-to-apply' in arabic and 'href="/en/how-to-apply' in again


def test_a_fragment_is_rendered_once_and_never_reads_the_pages_context():
    fragments.clear()
    template = Template(
        '{% load fragments %}[{% per_language "t" %}{% if who %}{{ who }}{% endif %}{% now "u" %}'
        "{% end_per_language %}]"
    )
    first = template.render(Context({"who": "first visitor"}))
    second = template.render(Context({"who": "second visitor"}))
    assert "visitor" not in first  # the page's context is not there: nothing personal is kept
    assert first == second  # the microseconds of the first rendering: rendered once


def test_a_fragment_needs_a_quoted_name():
    from django.template import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError, match="one quoted name"):
        Template("{% load fragments %}{% per_language footer %}x{% end_per_language %}")


def test_a_kept_seal_check_does_not_hide_a_changed_row(client, holder, customer):
    """The seal's Ed25519 check is kept per process for the same facts, signature and JWKS;
    the row is read on every request, so a payload altered after a first (kept) check fails."""
    import json

    from khutwa.documents import verification
    from khutwa.documents.triggers import triggers_resume
    from tests.documents.test_tamper import tamper

    document = invoices(holder, customer, 1)[0]
    path = f"/api/v1/verify/{document.public_id}"
    assert client.get(path).json()["valid"] is True
    assert client.get(path).json()["valid"] is True  # the kept check
    assert any(key[1] == document.signature for key in verification._seals)
    try:
        forged = {**document.payload, "notes": "altered after issue"}
        tamper("UPDATE documents_document SET payload = %s WHERE id = %s", [json.dumps(forged), document.pk])
        altered = client.get(path).json()
        assert altered["valid"] is False
        assert "payload hash differs from the sealed hash" in altered["reasons"]
        # The same facts with another signature: checked again, refused.
        tamper(
            "UPDATE documents_document SET payload = %s, signature = %s WHERE id = %s",
            [json.dumps(document.payload), "A" * 86, document.pk],
        )
        assert client.get(path).json()["valid"] is False
        tamper(
            "UPDATE documents_document SET signature = %s WHERE id = %s", [document.signature, document.pk]
        )
        assert client.get(path).json()["valid"] is True
    finally:
        triggers_resume(connection)
