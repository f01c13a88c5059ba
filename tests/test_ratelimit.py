"""Rate limits on the public pages and their API twins: counted per purpose in the shared
store (the database cache), so that one purpose never uses up another's bucket, every worker
sees the same counts, and tracking guesses are limited per reference whoever makes them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from khutwa import ratelimit
from tests.licensing.factories import World, applicant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


def test_the_counts_are_in_the_database_cache_that_every_worker_shares(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    ratelimit.hit("verify", "192.0.2.1")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {settings.CACHES['default']['LOCATION']}")  # noqa: S608
        assert cursor.fetchone()[0] >= 1


def test_a_rate_is_count_per_period():
    assert ratelimit.parse_rate("120/m") == ratelimit.Rate(120, 60)
    assert ratelimit.parse_rate("10/10m") == ratelimit.Rate(10, 600)
    assert ratelimit.parse_rate("5/h") == ratelimit.Rate(5, 3600)
    for bad in ("", "0/m", "x/m", "5/y", "5"):
        with pytest.raises(ValueError):
            ratelimit.parse_rate(bad)


def test_the_verification_page_and_its_api_share_one_bucket_that_leaves_tracking_alone(client, settings):
    settings.KHUTWA_PUBLIC_RATE = "3/m"
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/en/verify/{missing}").status_code == 404
    assert client.get(f"/api/v1/verify/{missing}").status_code == 404
    assert client.get(f"/en/verify/{missing}").status_code == 404
    page = client.get(f"/en/verify/{missing}")
    assert page.status_code == 429
    assert int(page["Retry-After"]) == 60
    assert "Too many requests from your address; try again in 1 minute." in page.content.decode()
    api = client.get(f"/api/v1/verify/{missing}")
    assert api.status_code == 429
    assert api["Content-Type"].startswith("application/problem+json")
    # Another purpose, the same address: its own bucket.
    assert client.post("/en/track/", {"reference": "APP-2026-000001", "cpr_last4": "1234"}).status_code == 404
    assert client.get("/en/licences/KH-2026-999999-ABCDEF").status_code == 404


def test_the_licence_check_page_and_its_api_are_limited_per_client(client, settings):
    settings.KHUTWA_PUBLIC_RATE = "2/m"
    assert client.get("/en/licences/KH-2026-999999-ABCDEF").status_code == 404
    assert client.get("/api/v1/licences/KH-2026-999999-ABCDEF").status_code == 404
    assert client.get("/ar/licences/KH-2026-999998-ABCDEF").status_code == 429
    assert client.get("/api/v1/licences/KH-2026-999997-ABCDEF").status_code == 429
    # Another client is not affected.
    assert client.get("/en/licences/KH-2026-999999-ABCDEF", REMOTE_ADDR="198.51.100.7").status_code == 404


def test_tracking_guesses_are_limited_per_reference_whoever_makes_them(client, world, settings):
    settings.KHUTWA_TRACK_REFERENCE_RATE = "3/h"
    app = world.submitted()
    for i in range(3):
        wrong = client.post(
            "/en/track/", {"reference": app.reference, "cpr_last4": "0000"}, REMOTE_ADDR=f"203.0.113.{i}"
        )
        assert wrong.status_code == 404
    # A fourth address, even with the right digits: the reference is locked for a while.
    right = {"reference": app.reference, "cpr_last4": app.cpr[-4:]}
    assert client.post("/en/track/", right, REMOTE_ADDR="203.0.113.9").status_code == 429
    api = client.post("/api/v1/applications/track", right, content_type="application/json")
    assert api.status_code == 429
    # Another reference is not affected.
    other = world.submitted(user=applicant())
    ok = client.post("/en/track/", {"reference": other.reference, "cpr_last4": other.cpr[-4:]})
    assert ok.status_code == 200


def test_tracking_takes_the_cpr_digits_in_the_body_never_the_address(client, world):
    app = world.submitted()
    # The page's form posts; digits in the address are ignored (nothing is looked up).
    page = client.get("/en/track/", {"reference": app.reference, "cpr_last4": app.cpr[-4:]})
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    assert 'id="timeline"' not in page.content.decode()
    # The API's old address with the digits in its query string is gone.
    old = client.get(f"/api/v1/applications/track/{app.reference}", {"cpr_last4": app.cpr[-4:]})
    assert old.status_code in (404, 405)
    assert old["Content-Type"].startswith("application/problem+json")


def test_uploads_are_throttled_per_address(client, settings):
    settings.KHUTWA_PDF_CHECK_RATE = "2/m"
    for _ in range(2):
        response = client.post("/en/verify/", {"file": SimpleUploadedFile("x.pdf", b"not a pdf")})
        assert response.status_code == 400
    response = client.post("/en/verify/", {"file": SimpleUploadedFile("x.pdf", b"not a pdf")})
    assert response.status_code == 429
    # Verifying by id from the same address still works: another bucket.
    assert client.get("/en/verify/00000000-0000-0000-0000-000000000000").status_code == 404


def test_time_stamp_requests_have_their_own_bucket(client, settings):
    settings.KHUTWA_PUBLIC_RATE = "2/m"
    for _ in range(2):  # not a time-stamp query: refused, but counted
        assert client.post("/tsa", b"x", content_type="text/plain").status_code == 400
    refused = client.post("/tsa", b"x", content_type="text/plain")
    assert refused.status_code == 429 and b"Too many time-stamp requests" in refused.content
    # The licence check from the same address still answers: another bucket.
    assert client.get("/en/licences/KH-2026-999999-ABCDEF").status_code == 404


def test_a_window_passes_and_the_client_gets_through_again(monkeypatch, settings):
    settings.KHUTWA_PUBLIC_RATE = "2/m"
    now = [60 * 16_667.0]  # the start of a window
    monkeypatch.setattr(ratelimit, "_clock", lambda: now[0])
    assert ratelimit.allow("licence", "x") and ratelimit.allow("licence", "x")
    assert not ratelimit.allow("licence", "x")
    now[0] += 60  # the previous window still weighs fully at the start of the next
    assert not ratelimit.allow("licence", "x")
    now[0] += 60
    assert ratelimit.allow("licence", "x")
    cache.clear()


# Over the database cache a process writes its counts in batches (khutwa/ratelimit.py): 640/m is
# a batch of 20 attempts.
BATCHED = "640/m"


@pytest.fixture
def one_window(monkeypatch):
    """The start of a window, moved by hand (a loaded machine could cross a minute's edge)."""
    now = [60 * 30_000_000.0]
    monkeypatch.setattr(ratelimit, "_clock", lambda: now[0])
    return now


def writes_of_counts(queries):
    return [
        q["sql"]
        for q in queries.captured_queries
        if "khutwa_cache" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def test_a_process_writes_a_clients_count_once_per_batch_not_per_attempt(settings, one_window):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.KHUTWA_PUBLIC_RATE = BATCHED
    assert ratelimit.batch_of(ratelimit.rate_of("verify")) == 20
    with CaptureQueriesContext(connection) as queries:
        assert all(ratelimit.allow("verify", "192.0.2.10") for _ in range(41))
    # The first attempt (nothing read yet), then every 20th: 41 attempts, 3 writes, 3 reads.
    assert len(writes_of_counts(queries)) == 3
    assert len([q for q in queries.captured_queries if "khutwa_cache" in q["sql"]]) < 41
    current = ratelimit._keys("verify", "192.0.2.10", ratelimit.rate_of("verify"), one_window[0])[0]
    assert cache.get(current) == 41


def test_a_pending_count_is_written_within_a_second(settings, one_window):
    settings.KHUTWA_PUBLIC_RATE = BATCHED
    current = ratelimit._keys("verify", "192.0.2.11", ratelimit.rate_of("verify"), one_window[0])[0]
    for _ in range(5):
        assert ratelimit.allow("verify", "192.0.2.11")
    assert cache.get(current) == 1  # four attempts pending in this process
    one_window[0] += ratelimit.FLUSH_SECONDS + 0.5
    assert ratelimit.allow("verify", "192.0.2.11")
    assert cache.get(current) == 6


def test_a_low_rate_is_written_at_every_attempt(settings, one_window):
    settings.KHUTWA_TRACK_REFERENCE_RATE = "5/h"
    assert ratelimit.batch_of(ratelimit.rate_of("track-reference")) == 1
    current = ratelimit._keys(
        "track-reference", "APP-1", ratelimit.rate_of("track-reference"), one_window[0]
    )[0]
    for n in range(1, 4):
        ratelimit.hit("track-reference", "APP-1")
        assert cache.get(current) == n
    other_process = ratelimit.Counter()
    other_process.take("track-reference", "APP-1", check=False)
    other_process.take("track-reference", "APP-1", check=False)
    assert ratelimit.exhausted("track-reference", "APP-1")


def test_a_second_process_sees_the_first_ones_count_and_refuses(settings, one_window):
    settings.KHUTWA_PUBLIC_RATE = BATCHED
    first, second = ratelimit.Counter(), ratelimit.Counter()
    let_through = 0
    while first.take("verify", "192.0.2.12"):
        let_through += 1
    assert let_through == 640  # one process alone: exactly the rate
    # The other process reads what the first wrote; the first holds at most a batch unwritten.
    others = sum(second.take("verify", "192.0.2.12") for _ in range(100))
    assert others < ratelimit.batch_of(ratelimit.rate_of("verify"))
    # Another client, another count.
    assert second.take("verify", "192.0.2.13")


@pytest.mark.postgresql  # SQLite's in-memory test database refuses a second writer at once
@pytest.mark.django_db(transaction=True)
def test_two_processes_in_parallel_refuse_a_client_over_its_rate(settings, one_window):
    """Two processes' counters (two threads, each with its own database connection) over the
    same database cache: together they let through the rate, and at most the documented
    overshoot ((processes + 1) × batch) beyond it."""
    import threading

    from django.db import connection

    settings.KHUTWA_PUBLIC_RATE = BATCHED
    batch = ratelimit.batch_of(ratelimit.rate_of("verify"))
    allowed: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def process() -> None:
        counter = ratelimit.Counter()
        try:
            barrier.wait()
            allowed.append(sum(counter.take("verify", "192.0.2.14") for _ in range(500)))
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert 640 <= sum(allowed) <= 640 + 3 * batch, allowed
    assert all(n < 500 for n in allowed)  # each was refused in the end
    current = ratelimit._keys("verify", "192.0.2.14", ratelimit.rate_of("verify"), one_window[0])[0]
    assert cache.get(current) >= sum(allowed) - 2 * (batch - 1)  # all but what is still pending


COUNTING_PROCESS = """
import os, sys, time
import django

django.setup()
from khutwa import ratelimit

ratelimit._clock = lambda: 60 * 30_000_000.0 + 1  # one window for both processes
go, ready = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
print(sum(ratelimit.allow("verify", "192.0.2.20") for _ in range(1000)))
"""


def test_two_server_processes_over_one_sqlite_file_refuse_a_client_over_its_rate(tmp_path):
    """Two real processes (as two gunicorn workers) over one SQLite database and its cache
    table: together they let through the rate and at most (2 + 1) batches more."""
    import subprocess
    import sys
    import time

    from tests.config.test_settings import environment_for
    from tests.processes import ROOT, migrate

    env = environment_for(
        tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}", KHUTWA_PUBLIC_RATE=BATCHED
    )
    migrate(env)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", COUNTING_PROCESS, str(go), str(tmp_path / f"ready-{n}")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in range(2)) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # both set up: they count at the same time
    outputs = [p.communicate(timeout=300) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    allowed = [int(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert 640 <= sum(allowed) <= 640 + 3 * 20, allowed
    assert all(n < 1000 for n in allowed), allowed  # each was refused in the end
