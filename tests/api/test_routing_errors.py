"""Errors that no API operation answers (an unknown path, a method the path does not take, a
server error outside an operation) are problem+json in the request's language, not HTML."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory

from khutwa.api.middleware import ApiProblemMiddleware

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("en", "There is no such address in the API; its operations are listed at /api/v1/docs."),
        ("ar", None),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/applications/1/nothing", "/api/v2/x", "/api/"]
)
def test_an_unknown_api_address_is_a_problem_404(client, path, language, detail):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    if detail:
        assert body["detail"] == detail
        assert body["title"] == "Not found"
    else:
        # Arabic (the new detail's translation is added with the catalogue; the title has one).
        assert body["title"] != "Not found"
        assert any("\u0600" <= ch <= "\u06ff" for ch in body["title"])


def test_a_method_the_address_does_not_take_is_a_problem_405_naming_what_it_takes(client):
    response = client.delete("/api/v1/catalogue/activities", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/problem+json")
    assert "GET" in response["Allow"]
    body = response.json()
    assert body["status"] == 405
    assert "DELETE" in body["detail"] and "GET" in body["detail"]


def test_a_server_error_outside_an_operation_is_a_problem_500():
    request = RequestFactory().get("/api/v1/documents", HTTP_ACCEPT_LANGUAGE="en")
    response = ApiProblemMiddleware(lambda r: HttpResponseServerError("<h1>Server Error (500)</h1>"))(request)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/problem+json")
    assert json.loads(response.content)["detail"] == "Something went wrong on our side; it has been logged."


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    request = RequestFactory().get("/en/x")
    html = ApiProblemMiddleware(lambda r: HttpResponse("<p>x</p>", status=500))(request)
    assert html["Content-Type"].startswith("text/html")
