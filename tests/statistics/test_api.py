"""GET /api/v1/statistics: the public figures as JSON, suppressed the same way."""

from __future__ import annotations


def test_statistics_api_shape_and_suppression(client, dataset):
    response = client.get("/api/v1/statistics", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    body = response.json()
    assert body["period_from"] == "2025-07-01" and body["period_to"] == "2026-06-15"
    assert body["threshold"] == 5
    tables = {t["key"]: t for t in body["tables"]}
    assert set(tables) == {
        "applications_by_month",
        "applications_by_activity",
        "applications_by_governorate",
        "licences_by_tier",
        "working_days_by_body",
        "reviews_within_sla",
        "documents_by_month",
        "support_by_programme",
    }
    governorates = tables["applications_by_governorate"]
    assert governorates["columns"] == [
        {
            "key": "count",
            "name_ar": governorates["columns"][0]["name_ar"],
            "name_en": "Applications",
            "kind": "count",
        }
    ]
    rows = {r["key"]: r for r in governorates["rows"]}
    assert rows["muharraq"] == {
        "key": "muharraq",
        "name_ar": "محافظة المحرق",
        "name_en": "Muharraq Governorate",
        "month": None,
        "values": {"count": None},
    }
    assert governorates["totals"] == {"count": 16}
    months = {r["month"]: r["values"] for r in tables["applications_by_month"]["rows"]}
    assert months["2026-03"]["licence_issued"] == 6
    assert months["2026-04"]["in_review"] is None and months["2026-04"]["total"] == 10
    support = {r["key"]: r["values"] for r in tables["support_by_programme"]["rows"]}
    assert support["prog-a"] == {
        "approved": 8,
        "approved_amount": "700.000",
        "paid": None,
        "paid_amount": None,
    }
    days = {r["key"]: r["values"] for r in tables["working_days_by_body"]["rows"]}
    assert days["municipality"] == {"licences": 6, "median": 7, "p90": 13}
    assert days["food-control"] == {"licences": None, "median": None, "p90": None}


def test_statistics_api_names_nobody(client, dataset):
    text = client.get("/api/v1/statistics").content.decode()

    for needle in [*dataset.names, *dataset.cprs, "Zainab"]:
        assert needle not in text


def test_statistics_api_is_in_the_openapi_document(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/statistics" in spec["paths"]
    assert spec["paths"]["/api/v1/statistics"]["get"].get("security") in (None, [])


def test_public_statistics_read_from_the_replica(client, db, monkeypatch):
    """The page and the API run inside replica_read (config/routers.py): with a replica up,
    their reads go to it."""
    from khutwa.config import routers
    from khutwa.statistics import selectors

    monkeypatch.setattr(routers, "replica_configured", lambda: True)
    monkeypatch.setattr(routers, "_replica_down_until", 0.0)
    figures = selectors.figures_publishable(selectors.figures_compute())
    where: list[bool] = []

    def public() -> selectors.Figures:
        where.append(routers.reads_from_replica())
        return figures

    monkeypatch.setattr(selectors, "statistics_public", public)

    assert client.get("/en/statistics/").status_code == 200
    assert client.get("/api/v1/statistics").status_code == 200
    assert where == [True, True]
