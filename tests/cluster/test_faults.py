"""Faults during a light load, each a test (issue 11): an app node killed, Redis restarted, the
replica stopped, PgBouncer restarted. Requests in flight may fail; afterwards nothing is lost or
duplicated, numbering is gapless and everything verifies (audit-verify, documents-verify).

Run by `make test-cluster` (the cluster up, these tests, the cluster down)."""

from __future__ import annotations

import re
import time
import uuid

import requests

from tests.cluster.harness import Cluster, LightLoad, assert_intact


def test_an_app_node_killed_mid_load_loses_and_duplicates_nothing(cluster: Cluster):
    with LightLoad(cluster) as load:
        load.run_for(4)
        cluster.script("kill", "node1")  # SIGKILL to the node's gunicorn and its workers
        killed_at = time.monotonic()
        load.run_for(6)
        # The other node carried on alone.
        assert load.issued_after(killed_at) > 0, load.failures
        cluster.script("start", "node1")
        cluster.wait_healthy()
        load.run_for(3)
    assert_intact(cluster, load)


def _portal_login(cluster: Cluster, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{cluster.url}/en/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    response = session.post(
        f"{cluster.url}/en/login/",
        data={"username": username, "password": "khutwa-demo", "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{cluster.url}/en/login/"},
        timeout=30,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def _logged_in(session: requests.Session, cluster: Cluster) -> bool:
    response = session.get(f"{cluster.url}/en/my/", timeout=30, allow_redirects=False)
    return response.status_code == 200


def _track(cluster: Cluster) -> int:
    return cluster.api(
        "POST",
        "/api/v1/applications/track",
        json={"reference": f"KH-APP-{uuid.uuid4().hex[:8].upper()}", "cpr_last4": "0000"},
    ).status_code


def test_a_redis_restart_resets_rate_limits_and_keeps_sessions(cluster: Cluster):
    session = _portal_login(cluster, "holder")
    assert _logged_in(session, cluster)
    with LightLoad(cluster) as load:
        load.run_for(2)
        # Exhaust the tracking limit of this address (KHUTWA_TRACK_RATE, 10 in 10 minutes).
        statuses = [_track(cluster) for _ in range(12)]
        assert statuses[-1] == 429, statuses
        cluster.script("stop", "redis")
        load.run_for(2)
        cluster.script("start", "redis")
        load.run_for(3)
        # The limits start again from nothing; the session was in the database too.
        assert _track(cluster) != 429
        assert _logged_in(session, cluster)
    assert_intact(cluster, load)


def test_public_reads_come_from_the_replica_and_a_writer_reads_the_primary(cluster: Cluster):
    public_id = cluster.api("GET", "/api/v1/documents?limit=1", user="holder").json()["items"][0]["public_id"]
    time.sleep(1.5)  # PgBouncer's statistics are refreshed each second
    before = cluster.bouncer_queries(4)
    for _ in range(5):
        assert cluster.api("GET", f"/api/v1/verify/{public_id}").status_code == 200
    time.sleep(2.5)
    after_public = cluster.bouncer_queries(4)
    assert after_public >= before + 5
    # A client that has just written (the pin cookie) reads its own write from the primary.
    for _ in range(5):
        response = cluster.api("GET", f"/api/v1/verify/{public_id}", cookies={"khutwa_primary": "1"})
        assert response.status_code == 200
    time.sleep(2.5)
    assert cluster.bouncer_queries(4) == after_public


def test_a_stopped_replica_leaves_public_reads_answered_from_the_primary(cluster: Cluster):
    licence = cluster.sql(
        "SELECT number || '-' || check_code FROM licensing_licence WHERE status = 'active' LIMIT 1"
    )[0][0]
    with LightLoad(cluster) as load:
        load.run_for(3)
        cluster.script("stop", "replica")
        try:
            public_id = next(iter(load.acknowledged.values()))
            # Each gunicorn worker may wait up to a second before giving up on the replica.
            for _ in range(8):
                verified = cluster.api("GET", f"/api/v1/verify/{public_id}")
                assert verified.status_code == 200 and verified.json()["valid"], verified.text[:300]
                assert cluster.api("GET", f"/en/verify/{public_id}").status_code == 200
                assert cluster.api("GET", f"/api/v1/licences/{licence}").status_code == 200
            # A document issued while the replica is down verifies at once (the primary has it).
            load.run_for(2)
            newest = list(load.acknowledged.values())[-1]
            assert cluster.api("GET", f"/api/v1/verify/{newest}").json()["valid"]
        finally:
            cluster.script("start", "replica")
        _wait_streaming(cluster)
        load.run_for(2)
    assert load.verified[500] == 0, load.verified
    assert_intact(cluster, load)


def _wait_streaming(cluster: Cluster, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cluster.sql("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"):
            return
        time.sleep(0.5)
    raise AssertionError("the replica did not stream again")


def test_a_pgbouncer_restart_is_survived(cluster: Cluster):
    with LightLoad(cluster) as load:
        load.run_for(3)
        cluster.script("kill", "pgbouncer")
        load.run_for(2)
        cluster.script("start", "pgbouncer")
        restarted_at = time.monotonic()
        load.run_for(6)
        assert load.issued_after(restarted_at) > 0, load.failures
    # Answers come again from every node: a fresh document issues and verifies.
    fresh = LightLoad(cluster, issuers=0, verifiers=0)
    fresh.customers, fresh.activity = cluster.holder_basics()
    fresh.issue_one()
    load.acknowledged.update(fresh.acknowledged)
    assert_intact(cluster, load)
