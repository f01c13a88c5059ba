"""The statistics pages with the demo data multiplied to 100,000 applications: the public page,
the registrar's and Tamkeen's dashboards and GET /api/v1/statistics, each warm (figures in the
cache) and cold (the cache emptied before every request), next to /healthz in the same run.

    python -m bench statistics [--applications 100000] [--requests 100] [--cold 10]
                               [--database-url postgres://…]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import statistics
import time

from bench.harness import (
    Timing,
    analyze,
    environment,
    fresh_postgres,
    is_postgres,
    khutwa,
    measure,
    migrate,
    report,
    server,
)
from bench.licensing_pages import multiply, session_cookie

#: The options of main (routed by bench/__main__.py).
OPTIONS = ("--applications", "--requests", "--cold", "--database-url")


def enrich() -> dict[str, int]:
    """Give the multiplied applications what the figures read: a submission date, and for those
    issued a licence 3–40 days later with approved reviews by two bodies (one in six late)."""
    import django

    django.setup()
    import datetime as dt
    import random

    from django.db import transaction
    from django.db.models import F

    from khutwa.approvals.models import Review
    from khutwa.catalogue.models import ApprovingBody
    from khutwa.licensing.models import Application, Licence

    rng = random.Random(11)
    Application.objects.filter(submitted_at__isnull=True).exclude(status="draft").update(
        submitted_at=F("created_at")
    )
    bodies = list(ApprovingBody.objects.filter(code__in=["municipality", "civil-defence"]))
    pending = Application.objects.filter(status="licence_issued", licence__isnull=True).order_by("pk")
    made = 0
    while True:
        batch = list(
            pending.values(
                "pk", "cpr", "name_ar", "name_en", "trade_name", "tier_id", "governorate_id", "submitted_at"
            )[:5000]
        )
        if not batch:
            break
        with transaction.atomic():
            licences, reviews = [], []
            for a in batch:
                issued = a["submitted_at"] + dt.timedelta(days=rng.randint(3, 40))
                licences.append(
                    Licence(
                        number=f"KB-{a['pk']:08d}",
                        cpr=a["cpr"],
                        name_ar=a["name_ar"],
                        name_en=a["name_en"],
                        trade_name=a["trade_name"],
                        tier_id=a["tier_id"],
                        valid_from=issued.date(),
                        valid_until=issued.date() + dt.timedelta(days=364),
                        issued_at=issued,
                        building="1",
                        road="1",
                        block="1",
                        area="Bench",
                        governorate_id=a["governorate_id"],
                        address_key=f"bench-licence|{a['pk']}",
                    )
                )
                decided = a["submitted_at"] + dt.timedelta(days=rng.randint(1, 20))
                for body in bodies:
                    late = rng.randint(0, 5) == 0
                    reviews.append(
                        Review(
                            application_id=a["pk"],
                            body=body,
                            status="approved",
                            started_on=a["submitted_at"].date(),
                            sla_working_days=body.sla_working_days,
                            due_date=decided.date() - dt.timedelta(days=1 if late else -3),
                            decided_at=decided,
                        )
                    )
            Licence.objects.bulk_create(licences)
            numbers = dict(
                Licence.objects.filter(number__in=[lc.number for lc in licences]).values_list("number", "pk")
            )
            apps = [Application(pk=a["pk"], licence_id=numbers[f"KB-{a['pk']:08d}"]) for a in batch]
            Application.objects.bulk_update(apps, ["licence"], batch_size=1000)
            Review.objects.bulk_create(reviews)
        made += len(batch)
    return {"licences_made": made, "licences": Licence.objects.count(), "reviews": Review.objects.count()}


def measure_cold(port: int, name: str, path: str, *, cookie: str = "", requests: int = 10) -> Timing:
    """Each request with the statistics cache emptied first: the figures computed from nothing."""
    from khutwa.statistics.selectors import statistics_forget

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Cookie": cookie} if cookie else {}
    samples: list[float] = []
    status, size = 0, 0
    for _ in range(requests):
        statistics_forget()
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        samples.append((time.perf_counter() - start) * 1000)
        status, size = response.status, len(body)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return Timing(name, path, statistics.median(samples), p95, status, size)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--cold", type=int, default=10, help="cold requests per page")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        database_url = args.database_url
        if is_postgres(database_url):  # a throwaway database on that server, as SQLite's
            database_url = stack.enter_context(fresh_postgres(database_url, "khutwa_bench_statistics"))
        stack.enter_context(environment(database_url))
        migrate()
        started = time.perf_counter()
        khutwa("demo")
        counts = multiply(args.applications)
        counts.update(enrich())
        analyze()
        load_s = time.perf_counter() - started
        registrar = session_cookie("registrar")
        officer = session_cookie("tamkeen-officer")
        pages = [
            ("statistics page", "/ar/statistics/", ""),
            ("statistics API", "/api/v1/statistics", ""),
            ("registrar dashboard", "/ar/registrar/statistics/", registrar),
            ("Tamkeen dashboard", "/ar/support/statistics/", officer),
        ]
        # A cold page at 100,000 applications on a loaded machine may outlast gunicorn's 30 s.
        with server(timeout=180) as port:
            floor = measure(port, "trivial page /healthz", "/healthz", requests=args.requests)
            timings = []
            for name, path, cookie in pages:
                timings.append(measure_cold(port, f"{name}, cold", path, cookie=cookie, requests=args.cold))
                timings.append(measure(port, f"{name}, warm", path, cookie=cookie, requests=args.requests))
        import django.db

        vendor = django.db.connection.vendor
    report(
        "statistics-pages: statistics with the demo data multiplied",
        floor,
        timings,
        {
            "database": vendor,
            **counts,
            "data_load_seconds": round(load_s, 1),
            "requests_per_page": args.requests,
            "cold_requests_per_page": args.cold,
        },
    )
    return 0
