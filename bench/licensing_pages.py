"""Reviewer queue and registrar pipeline with the demo data multiplied to 100,000 applications,
next to a trivial page (/healthz: one SELECT 1) on the same server in the same run.

    python -m bench [--applications 100000] [--requests 100] [--database-url postgres://…]
"""

from __future__ import annotations

import argparse
import contextlib
import time

from bench.harness import (
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


def multiply(target: int) -> dict[str, int]:
    """Copy the demo applications until there are `target`, keeping every constraint: a sixth
    stays open in review with a pending review per body, the rest are closed."""
    import django

    django.setup()
    import datetime as dt
    import random

    from django.db import transaction
    from django.utils import timezone

    from khutwa.approvals.models import Review
    from khutwa.catalogue.models import Activity, ApprovingBody
    from khutwa.catalogue.selectors import work_calendar
    from khutwa.licensing.models import Application, Counter

    rng = random.Random(7)
    templates = list(Application.objects.select_related("tier", "governorate")[:200])
    bodies = list(ApprovingBody.objects.all())
    sewing = Activity.objects.get(code="sewing-abayas")
    meals = Activity.objects.get(code="home-meals")
    calendar = work_calendar()
    existing = Application.objects.count()
    year = timezone.localdate().year
    counter, _ = Counter.objects.get_or_create(name="application", year=year)
    next_number = counter.last
    through = Application.activities.through
    batch = 5000
    created = 0
    today = timezone.localdate()
    while existing + created < target:
        size = min(batch, target - existing - created)
        rows = []
        for i in range(size):
            t = rng.choice(templates)
            n = next_number + i + 1
            open_one = (created + i) % 6 == 0
            rows.append(
                Application(
                    reference=f"APP-{year}-{n:06d}",
                    kind="new",
                    status="in_review"
                    if open_one
                    else rng.choice(["licence_issued", "rejected", "withdrawn"]),
                    filed_by_id=t.filed_by_id,
                    channel=t.channel,
                    cpr=f"7{n:08d}",
                    name_ar=t.name_ar,
                    name_en=t.name_en,
                    name_search=t.name_search,
                    phone=t.phone,
                    email="",
                    trade_name=t.trade_name,
                    tier_id=t.tier_id,
                    flat="",
                    building=str(n % 9999),
                    road=str(n // 9999),
                    block=f"B{n}",
                    area=t.area,
                    governorate_id=t.governorate_id,
                    address_key=f"bench|{n}",
                    created_at=timezone.now() - dt.timedelta(minutes=rng.randint(0, 730 * 24 * 60)),
                )
            )
        with transaction.atomic():
            Application.objects.bulk_create(rows)
            saved = list(
                Application.objects.filter(reference__in=[r.reference for r in rows]).values_list(
                    "pk", "status"
                )
            )
            links, reviews = [], []
            for pk, status in saved:
                links.append(through(application_id=pk, activity_id=sewing.pk))
                if pk % 3 == 0:
                    links.append(through(application_id=pk, activity_id=meals.pk))
                if status == "in_review":
                    started = today - dt.timedelta(days=rng.randint(0, 25))
                    for body in bodies:
                        reviews.append(
                            Review(
                                application_id=pk,
                                body=body,
                                status="pending",
                                started_on=started,
                                sla_working_days=body.sla_working_days,
                                due_date=calendar.add_working_days(started, body.sla_working_days),
                            )
                        )
            through.objects.bulk_create(links)
            Review.objects.bulk_create(reviews)
        next_number += size
        created += size
    Counter.objects.filter(pk=counter.pk).update(last=next_number)
    return {"applications": Application.objects.count(), "reviews": Review.objects.count()}


def session_cookie(username: str) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from khutwa.accounts.models import User

    user = User.objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def deep_cursors() -> dict[str, str]:
    """Cursors halfway down the registrar's pipeline and the reviewer's queue (keyset pages:
    what a user reaches by following "Next" that far), and a reference and a licence number to
    search for."""
    import django

    django.setup()
    from khutwa.accounts.models import User
    from khutwa.approvals.models import Review
    from khutwa.keyset import cursor_encode
    from khutwa.licensing.models import Application, Licence

    apps = Application.objects.order_by("-created_at", "-id")
    middle = apps[apps.count() // 2]
    body = User.objects.get(username="reviewer-municipality").body_id
    queue = Review.objects.filter(body_id=body, in_queue=1).order_by("due_date", "id")
    halfway = queue[queue.count() // 2]
    licence = Licence.objects.order_by("id").first()
    return {
        "pipeline": cursor_encode([middle.created_at, middle.pk]),
        "queue": cursor_encode([halfway.due_date, halfway.pk]),
        "reference": middle.reference,
        "licence": licence.number if licence else "KH-2026-000001",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        database_url = args.database_url
        if is_postgres(database_url):  # a throwaway database on that server, as SQLite's
            database_url = stack.enter_context(fresh_postgres(database_url, "khutwa_bench_licensing"))
        stack.enter_context(environment(database_url))
        migrate()
        started = time.perf_counter()
        khutwa("demo")
        counts = multiply(args.applications)
        analyze()
        load_s = time.perf_counter() - started
        reviewer = session_cookie("reviewer-municipality")
        registrar = session_cookie("registrar")
        deep = deep_cursors()
        with server() as port:
            floor = measure(port, "trivial page /healthz", "/healthz", requests=args.requests)
            timings = [
                measure(port, "reviewer queue", "/ar/reviews/", cookie=reviewer, requests=args.requests),
                measure(
                    port,
                    "reviewer queue, overdue",
                    "/ar/reviews/?overdue=1",
                    cookie=reviewer,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "reviewer queue, search",
                    "/ar/reviews/?q=%D9%81%D8%A7%D8%B7%D9%85%D9%87",
                    cookie=reviewer,
                    requests=args.requests,
                ),
                measure(
                    port, "registrar pipeline", "/ar/registrar/", cookie=registrar, requests=args.requests
                ),
                measure(
                    port,
                    "registrar pipeline, in review",
                    "/ar/registrar/?status=in_review",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar pipeline, search CPR",
                    "/ar/registrar/?q=700000123",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "reviewer queue, deep page",
                    f"/ar/reviews/?after={deep['queue']}",
                    cookie=reviewer,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar pipeline, deep page",
                    f"/ar/registrar/?after={deep['pipeline']}",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar overdue reviews",
                    "/ar/registrar/overdue/",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar search, reference",
                    f"/ar/registrar/?q={deep['reference']}",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar search, licence number",
                    f"/ar/registrar/?q={deep['licence']}",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar search, name",
                    "/ar/registrar/?q=%D9%81%D8%A7%D8%B7%D9%85%D9%87",
                    cookie=registrar,
                    requests=args.requests,
                ),
                measure(
                    port,
                    "registrar search, rare name",
                    "/ar/registrar/?q=%D8%B2%D9%8A%D9%86%D8%A8%20%D8%A7%D9%84",
                    cookie=registrar,
                    requests=args.requests,
                ),
            ]
        import django.db

        vendor = django.db.connection.vendor
    report(
        "licensing-pages: page latency with the demo data multiplied",
        floor,
        timings,
        {
            "database": vendor,
            **counts,
            "data_load_seconds": round(load_s, 1),
            "requests_per_page": args.requests,
        },
    )
    return 0
