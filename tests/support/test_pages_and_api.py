import pytest

from khutwa.support.models import SupportApplication
from tests.api.test_licensing_api import auth

pytestmark = pytest.mark.django_db


def test_public_catalogue_lists_programmes(client, programme):
    page = client.get("/en/programmes/").content.decode()
    assert "Business development support" in page
    data = client.get("/api/v1/support/programmes").json()
    assert data["items"][0]["code"] == "bdsupport"
    assert data["items"][0]["caps"] == {"basic": "1000.000", "standard": "2500.000"}
    assert data["items"][0]["rate"] == "0.500"


def test_eligibility_live_and_apply_in_the_portal(client, programme, claimant, quotation):
    client.force_login(claimant)
    live = client.post(
        "/en/support/apply/",
        {"programme": "bdsupport", "quotation": str(quotation.public_id)},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'data-eligible="true"' in live and live.count('data-passed="true"') == 10
    response = client.post(
        "/en/support/apply/", {"programme": "bdsupport", "quotation": str(quotation.public_id), "submit": "1"}
    )
    application = SupportApplication.objects.get()
    assert response.status_code == 302 and str(application.pk) in response["Location"]


def test_the_api_explains_each_rule_and_refuses_the_ineligible(client, programme, claimant, quotation):
    headers = auth(claimant)
    result = client.post(
        "/api/v1/support/eligibility",
        {"programme": "bdsupport", "quotation": str(quotation.public_id)},
        content_type="application/json",
        **headers,
    ).json()
    assert result["eligible"] is True and len(result["rules"]) == 10
    assert all(r["explanation_ar"] and r["explanation_en"] for r in result["rules"])
    programme.is_paused = True
    programme.save()
    refused = client.post(
        "/api/v1/support/applications",
        {"programme": "bdsupport", "quotation": str(quotation.public_id)},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )
    assert refused.status_code == 422 and "paused" in refused.json()["detail"]
    assert not SupportApplication.objects.exists()


def test_officer_and_finance_pages_are_theirs(client, programme, claimant, officer, finance, quotation):
    from khutwa.support import services

    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    client.force_login(claimant)
    assert client.get("/en/support/queue/").status_code == 404
    assert client.get("/en/support/finance/").status_code == 404
    client.force_login(officer)
    assert application.reference in client.get("/en/support/queue/").content.decode()
    response = client.post(f"/en/support/applications/{application.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert client.get("/en/support/reports/").status_code == 200
    report = client.get("/en/support/reports/?format=csv")
    assert report["Content-Type"].startswith("text/csv")
    rows = report.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "Breakdown,Arabic name,English name,Reserved (BHD),Paid (BHD)"
    assert "By programme,دعم تطوير الأعمال,Business development support,200.000,0.000" in rows
    assert any(r.startswith("By activity (of the quotation),") and r.endswith(",200.000,0.000") for r in rows)
    client.force_login(finance)
    assert client.get("/en/support/finance/").status_code == 200


def test_another_beneficiarys_application_is_404(client, programme, claimant, quotation):
    from khutwa.support import services
    from tests.licensing.factories import applicant

    application = services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    stranger = applicant()
    assert client.get(f"/api/v1/support/applications/{application.pk}", **auth(stranger)).status_code == 404
    client.force_login(stranger)
    assert client.get(f"/en/support/applications/{application.pk}/").status_code == 404
    assert client.post(f"/en/support/applications/{application.pk}/cancel/").status_code == 404
    application.refresh_from_db()
    assert application.status == "submitted"


def test_support_lists_page_by_limit_and_offset_with_the_total(
    client, programme, claimant, officer, quotation
):
    """The officer's queue and the enterprises awaiting a check are not cut at a fixed length:
    they page like every list of the API (`?limit=&offset=`, `count` the total)."""
    from khutwa.support import services
    from tests.licensing.factories import applicant

    services.application_create(
        actor=claimant, programme_code="bdsupport", quotation_ref=str(quotation.public_id)
    )
    staff = auth(officer)
    first = client.get("/api/v1/support/applications?limit=1", **staff).json()
    past = client.get("/api/v1/support/applications?limit=1&offset=1", **staff).json()
    assert (len(first["items"]), first["count"]) == (1, 1) and (past["items"], past["count"]) == ([], 1)
    for n, cr in enumerate(["145678-1", "145679-1", "145680-1"]):
        services.enterprise_register(
            actor=applicant(cpr=f"85050505{n}", username=f"biz{n}"), cr_number=cr, name_en=f"B{n}"
        )
    pages = [client.get(f"/api/v1/support/enterprises?limit=2&offset={o}", **staff).json() for o in (0, 2)]
    assert [len(p["items"]) for p in pages] == [2, 1] and {p["count"] for p in pages} == {3}
    assert [e["cr_number"] for p in pages for e in p["items"]] == ["145678-1", "145679-1", "145680-1"]
    bad = client.get("/api/v1/support/applications?status=" + "x" * 21, HTTP_ACCEPT_LANGUAGE="en", **staff)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
