"""/metrics: the operator's Prometheus metrics — documents issued, verification outcomes, the
task queue — for the metrics token or a system administrator only."""

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from khutwa.accounts.roles import Role

TOKEN = "m" * 40


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def scrape(client, settings):
    settings.KHUTWA_METRICS_TOKEN = TOKEN

    def _scrape():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return _samples(response.content.decode())

    return _scrape


def test_documents_and_verifications_are_counted(scrape, issue, client):
    before = scrape()
    invoice = issue("invoice")
    issue("quotation")
    client.get(f"/api/v1/verify/{invoice.public_id}")
    client.get(f"/api/v1/verify/{uuid.uuid4()}")
    after = scrape()
    assert after[("khutwa_documents", (("type", "invoice"),))] == 1
    assert after[("khutwa_documents", (("type", "quotation"),))] == 1

    def grew(outcome: str) -> float:
        key = ("khutwa_verifications_total", (("kind", "record"), ("outcome", outcome)))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("valid") == 1
    assert grew("not_found") == 1
    assert ("khutwa_tasks_ready", ()) in after and ("khutwa_tasks_oldest_ready_seconds", ()) in after


@pytest.mark.django_db
def test_only_the_operator_sees_metrics(client, settings, make_user):
    settings.KHUTWA_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "x" * 40).status_code == 404
    client.force_login(make_user(Role.HOLDER))
    assert client.get("/metrics").status_code == 404
    client.force_login(make_user(Role.SYSADMIN))
    assert client.get("/metrics").status_code == 200
    settings.KHUTWA_METRICS_TOKEN = ""
    client.logout()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
