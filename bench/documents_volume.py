"""Documents at national volume (issue 14), each measure next to `/healthz` on the same server:

1. documents made by `bench.volume` (bulk INSERTs of rows sealed as the issuing service seals
   them) over `--licences` licences, `--per-holder` of them for each of three big holders;
   a random sample checked by the real verifier after each step; the time it took;
2. at `--first` documents, then again after growing to `--documents`:
   - `GET /api/v1/verify/<id>` and the verify page, sequential and with `--threads` clients, in
     requests per second against `/healthz` (target ≥ 0.8), and the cost at full volume against
     the cost at `--first`, each against its stage's `/healthz` (target ≤ 1.1; the raw cost
     beside it);
   - a big holder's document list, first page and a deep page (keyset cursor 80 % down), in the
     portal and the API (and the API's offset page with its total, also a small holder's),
     median latency against `/healthz` (target ≤ 3);
3. the statement snapshot (`statements.statement_compute`) of a big holder's busiest customer
   over 12 months and over about a tenth of it: time and peak Python memory (tracemalloc) per
   entry, to show that rows are streamed and memory per entry stays flat;
4. at full volume, that statement's PDF (issued, then rendered in a forked child) over the
   same two periods: CPU seconds per page against a one-page invoice's (target ≤ 1.5) and the
   renderer's peak memory growth, per entry and at 12 months against at a tenth (flat: about
   1, the statement being laid out in parts of `documents.pdf.STATEMENT_PART_ENTRIES`).

    python -m bench documents-volume [--documents 1000000] [--first 10000] [--licences 20000]
                                     [--per-holder 10000] [--requests 300] [--threads 8]
                                     [--database-url postgres://…]

Ratios, never times, are what to compare between runs: machines are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

from bench.documents import client_ip, extra_environment, throughput
from bench.harness import (
    RESULTS,
    ROOT,
    analyze,
    environment,
    fresh_postgres,
    is_postgres,
    measure,
    migrate,
    server,
)

TITLE = "documents-volume: verification, the holder's list and statements at volume, against /healthz"
TARGETS = {
    "verify vs /healthz": (">=", 0.8),
    "verify cost, full vs first": ("<=", 1.1),
    "list vs /healthz": ("<=", 3.0),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench documents-volume",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--documents", type=int, default=1_000_000, help="documents at full volume")
    p.add_argument("--first", type=int, default=10_000, help="documents at the first measurement")
    p.add_argument("--licences", type=int, default=20_000)
    p.add_argument("--per-holder", type=int, default=10_000, help="documents of each of 3 big holders")
    p.add_argument("--requests", type=int, default=300, help="HTTP requests per endpoint and mode")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--database-url", default=None)
    return p


@dataclass
class Row:
    stage: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


def judged(row: Row, target: str, ratio: float) -> Row:
    op, bound = TARGETS[target]
    row.ratio = ratio
    row.target = f"{'≥' if op == '>=' else '≤'} {bound:g}"
    row.met = ratio >= bound if op == ">=" else ratio <= bound
    return row


def deep_cursor(licence_id: int, share: float = 0.8) -> str:
    from khutwa.documents.models import Document
    from khutwa.documents.selectors import Position

    qs = Document.objects.filter(licence_id=licence_id).order_by("-issued_at", "-id")
    total = qs.count()
    document = qs.only("id", "issued_at")[max(0, int(total * share) - 1)]
    return Position.of(document).encode()


def measure_stage(stage: str, args: argparse.Namespace, volume: Any, cookie: str, token: str) -> list[Row]:
    rows: list[Row] = []
    try:
        _measure_stage(rows, stage, args, volume, cookie, token)
    except subprocess.TimeoutExpired:
        # gunicorn was told to stop and is slow to (a loaded machine): the numbers are taken.
        print("  (the server took more than 10 s to stop)", flush=True)
    print_table(rows)
    return rows


def _measure_stage(
    rows: list[Row], stage: str, args: argparse.Namespace, volume: Any, cookie: str, token: str
) -> None:
    from urllib.parse import quote

    from khutwa.accounts.models import User

    ids = volume.sample_public_ids(400)
    big = volume.big[0].licence.pk
    # A holder with a few documents among all the others' (the access rule's joins once made
    # their API list read every document of the platform).
    small = next(c for c in volume.chains if c not in volume.big)
    small_auth = f"Bearer {api_token(User.objects.get(pk=small.holder_id))}"
    cursor = quote(deep_cursor(big))
    with server() as port:
        # Warm both workers.
        throughput(port, ["/healthz"], 40, 2)
        throughput(port, [f"/api/v1/verify/{p}" for p in ids], 40, 2)
        for mode, threads in (("sequential", 1), (f"{args.threads} clients", args.threads)):
            health = verify = page = 0.0
            for _ in range(2):  # interleaved halves: drift hits all alike
                n = max(args.requests // 2, threads)
                health += throughput(port, ["/healthz"], n, threads) / 2
                verify += throughput(port, [f"/api/v1/verify/{p}" for p in ids], n, threads) / 2
                page += throughput(port, [f"/ar/verify/{p}" for p in ids], n, threads) / 2
            rows.append(Row(stage, f"floor: /healthz, {mode}", health, "req/s"))
            rows.append(
                judged(
                    Row(stage, f"/api/v1/verify/<id>, {mode}", verify, "req/s"),
                    "verify vs /healthz",
                    verify / health,
                )
            )
            rows.append(
                judged(
                    Row(stage, f"verify page /ar/verify/<id>, {mode}", page, "req/s"),
                    "verify vs /healthz",
                    page / health,
                )
            )
        floor = measure(port, "/healthz", "/healthz", requests=args.requests)
        rows.append(Row(stage, "floor: /healthz, median latency", floor.median_ms, "ms"))
        auth = f"Bearer {token}"
        pages = [
            ("holder's list, first page (portal)", "/ar/documents/", cookie, ""),
            ("holder's list, deep page (portal)", f"/ar/documents/?after={cursor}", cookie, ""),
            ("holder's list, invoices only, deep", f"/ar/documents/?type=invoice&after={cursor}", cookie, ""),
            # A rare invoice status (the generator makes no receipt): one range of the balances.
            ("holder's list, paid invoices (rare)", "/ar/documents/?status=paid", cookie, ""),
            ("holder's list, unpaid, deep", f"/ar/documents/?status=unpaid&after={cursor}", cookie, ""),
            ("holder's list, search without a match", "/ar/documents/?q=zzzz", cookie, ""),
            ("API list, first page (cursor)", "/api/v1/documents?limit=25&cursor=", "", auth),
            # API.md's pages (`?limit=&offset=`): with the total, counted from the sources' indexes.
            ("API list, first page (offset, total)", "/api/v1/documents?limit=25", "", auth),
            ("API list, a small holder (offset, total)", "/api/v1/documents?limit=25", "", small_auth),
            ("API list, deep page (cursor)", f"/api/v1/documents?limit=25&cursor={cursor}", "", auth),
        ]
        # For scale, not judged: what being logged in costs before a list reads anything (the
        # session, the user, the layout; a bearer token, the user), in the same window.
        for name, path, cookie_, bearer in (
            ("  (a logged-in page: the account's details)", "/ar/account/", cookie, ""),
            ("  (an API call with a token: GET /api/v1/me)", "/api/v1/me", "", auth),
        ):
            timing = measure_with_auth(port, name, path, cookie_, bearer, args.requests)
            rows.append(Row(stage, name, timing, "ms", note=f"{timing / floor.median_ms:.2f}× /healthz"))
        for name, path, cookie_, bearer in pages:
            timing = measure_with_auth(port, name, path, cookie_, bearer, args.requests)
            rows.append(judged(Row(stage, name, timing, "ms"), "list vs /healthz", timing / floor.median_ms))


def measure_with_auth(port: int, name: str, path: str, cookie: str, bearer: str, requests: int) -> float:
    import http.client
    import statistics

    if not bearer:
        return measure(port, name, path, cookie=cookie, requests=requests).median_ms
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    samples = []
    for i in range(requests + 5):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": bearer, "X-Forwarded-For": client_ip()})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        if i >= 5:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def statement_memory(volume: Any) -> dict[str, Any]:
    """statement_compute over 12 months and over about a tenth of the entries: seconds and
    tracemalloc peak, each per entry."""
    import datetime as dt

    from django.utils import timezone

    from khutwa.documents.statements import statement_compute

    chain = volume.big[0]
    customer = chain.customers[0]
    end = timezone.localdate()
    out = {}
    for label, days in (("about a tenth", 36), ("12 months", 365)):
        start = end - dt.timedelta(days=days)
        tracemalloc.start()
        started = time.perf_counter()
        snapshot = statement_compute(licence=chain.licence, customer=customer, start=start, end=end)
        seconds = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        entries = len(snapshot["entries"])
        out[label] = {
            "entries": entries,
            "seconds": round(seconds, 3),
            "peak_kib": round(peak / 1024),
            "peak_bytes_per_entry": round(peak / max(1, entries)),
            "payload_bytes_per_entry": round(len(json.dumps(snapshot["entries"])) / max(1, entries)),
        }
    return out


def _render_apart(document: Any) -> dict[str, Any]:
    """Render `document`'s PDF (unsigned: signing is per document, not per page) in a forked
    child from the row already read, and return its seconds (wall and CPU), pages and how much
    the child's peak resident memory grew. The child touches no database connection."""
    import resource

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            from khutwa.documents.pdf import document_pdf_unsigned

            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started, cpu = time.perf_counter(), time.process_time()
            pdf = document_pdf_unsigned(document)
            out = {
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "pages": _pages(pdf),
                "rss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
            }
        except Exception as exc:  # reported to the parent
            out = {"error": repr(exc)}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result


def _pages(pdf: bytes) -> int:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


def statement_pdf(volume: Any) -> dict[str, Any]:
    """The signed statement's PDF for the big holder's busiest customer over about a tenth of
    the year and over 12 months, against a one-page invoice of the same holder: seconds per
    page (target ≤ 1.5 × the invoice's) and the renderer's memory growth (flat: about the same
    absolute growth at 12 months as at a tenth, ten times fewer entries)."""
    import datetime as dt

    from django.db.models import Count
    from django.utils import timezone

    from khutwa.documents.models import Document, DocumentType
    from khutwa.documents.statements import statement_issue

    chain = volume.big[0]
    holder = chain.licence.holder
    busiest = (
        Document.objects.filter(licence=chain.licence)
        .values("customer")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    invoices = Document.objects.filter(licence=chain.licence, type=DocumentType.INVOICE)
    invoice = invoices.order_by("-id").first()
    from khutwa.documents.pdf import document_pdf_unsigned

    document_pdf_unsigned(invoice)  # fonts and the renderer loaded here, before the children fork
    out: dict[str, Any] = {"invoice": [_render_apart(invoice) for _ in range(3)]}
    one = sorted(r["cpu_seconds"] for r in out["invoice"])[1]
    end = timezone.localdate() - dt.timedelta(days=1)
    for label, days in (("about a tenth", 36), ("12 months", 365)):
        statement = statement_issue(
            actor=holder, customer_id=busiest["customer"], start=end - dt.timedelta(days=days), end=end
        ).document
        rendered = _render_apart(statement)
        rendered["entries"] = len(statement.payload["statement"]["entries"])
        if rendered.get("pages"):
            per_page = rendered["cpu_seconds"] / rendered["pages"]
            rendered["cpu_seconds_per_page"] = round(per_page, 4)
            rendered["per_page_vs_invoice"] = round(per_page / one, 2)
            growth = rendered["rss_growth_kib"] * 1024
            rendered["rss_growth_bytes_per_entry"] = round(growth / max(1, rendered["entries"]))
        out[label] = rendered
    out["invoice_cpu_seconds"] = round(one, 4)
    tenth, full = (out[label].get("rss_growth_kib") for label in ("about a tenth", "12 months"))
    if tenth and full:
        out["rss_growth_12_months_vs_tenth"] = round(full / tenth, 2)
    return out


def database_bytes() -> int:
    """The database's size on disk (the SQLite file, or pg_database_size)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    with connection.cursor() as cursor:
        cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        return int(cursor.fetchone()[0])


def api_token(user: Any) -> str:
    from khutwa.accounts.services import api_token_issue

    raw, _token = api_token_issue(user=user)
    return raw


def print_table(rows: list[Row]) -> None:
    print(f"\n{TITLE}")
    stage = ""
    for r in rows:
        if r.stage != stage:
            stage = r.stage
            print(f"[{stage}]")
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        verdict = "" if r.met is None else ("ok" if r.met else "MISSED")
        line = f"  {r.name:<46}{r.value:>10.2f} {r.unit:<6}{ratio:>7}{r.target:>7}  {verdict:<7}"
        print(f"{line}{r.note}".rstrip())


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        database_url = args.database_url
        if is_postgres(database_url):
            database_url = stack.enter_context(fresh_postgres(database_url, "khutwa_bench_volume"))
        env = stack.enter_context(environment(database_url))
        stack.enter_context(
            extra_environment(
                {
                    "KHUTWA_KEY_DIR": os.path.join(env["KHUTWA_VAR_DIR"], "keys"),
                    "KHUTWA_KEY_PASSPHRASE": "bench-passphrase",
                    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                    "KHUTWA_PUBLIC_RATE": "100000000/m",
                }
            )
        )
        migrate()
        import django

        django.setup()
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import datetime as dt

        from django.db import connection
        from django.utils import timezone

        from bench.licensing_pages import session_cookie
        from bench.volume import Volume, unsafe_bulk_load

        t = time.perf_counter()
        volume = Volume.create(licences=args.licences, big_holders=3)
        extra["licences_seconds"] = round(time.perf_counter() - t, 1)
        first = min(args.first, args.documents)
        first_big = max(1, args.per_holder * first // max(1, args.documents))
        # The year before now, the first documents in its first part: each chain in time order.
        end = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
        start = end - dt.timedelta(days=365)
        middle = start + (end - start) * first / max(1, args.documents)
        print(f"licences made in {extra['licences_seconds']} s", flush=True)
        with unsafe_bulk_load():
            extra["first_seconds"] = round(volume.add(first, big_each=first_big, start=start, end=middle), 1)
        analyze()
        print(f"{volume.made:,} documents made in {extra['first_seconds']} s", flush=True)
        problems = volume.check_sample(30)
        if problems:
            raise RuntimeError(f"generated documents fail verification: {problems[:5]}")
        holder = volume.big[0].licence.holder
        cookie = session_cookie(holder.username)
        token = api_token(holder)
        rows += measure_stage(f"{volume.made:,} documents", args, volume, cookie, token)
        extra["statement_first"] = statement_memory(volume)
        rest = args.documents - volume.made
        if rest > 0:
            cpu = volume.worker_cpu_seconds, time.process_time()
            with unsafe_bulk_load():
                seconds = volume.add(rest, big_each=args.per_holder - first_big, start=middle, end=end)
            analyze()
            extra["grow_seconds"] = round(seconds, 1)
            extra["documents_per_second"] = round(rest / seconds, 1)
            extra["generator_workers"] = volume.workers
            # CPU per document (ms), the workers' and this process's (inserting): load-independent.
            extra["worker_cpu_ms_per_document"] = round((volume.worker_cpu_seconds - cpu[0]) * 1000 / rest, 3)
            extra["inserting_cpu_ms_per_document"] = round((time.process_time() - cpu[1]) * 1000 / rest, 3)
            extra["load_average"] = [round(x, 1) for x in os.getloadavg()]
            extra["database_bytes"] = database_bytes()
            print(f"{volume.made:,} documents: {rest:,} more in {seconds:.1f} s", flush=True)
            problems = volume.check_sample(50)
            if problems:
                raise RuntimeError(f"generated documents fail verification: {problems[:5]}")
            before = {r.name: r for r in rows}
            grown = measure_stage(f"{volume.made:,} documents", args, volume, cookie, token)
            for r in list(grown):
                if r.name.startswith(("/api/v1/verify", "verify page")) and r.name in before:
                    earlier = before[r.name]
                    # Judged against each stage's own /healthz (its ratio there): the two stages
                    # run minutes apart, and the machine's speed moves between them as much as
                    # anything measured (`/healthz` itself, touching no document, moved 1.3-1.6×
                    # between the stages of the same run). The raw cost is shown beside it.
                    cost = earlier.ratio / r.ratio if earlier.ratio and r.ratio else float("inf")
                    raw = earlier.value / r.value  # req/s: cost is its inverse
                    grown.append(
                        judged(
                            Row(
                                r.stage,
                                f"  cost vs at {first:,}: {r.name}",
                                cost,
                                "×",
                                note=f"raw {raw:.2f}×",
                            ),
                            "verify cost, full vs first",
                            cost,
                        )
                    )
            rows += grown
            extra["statement_full"] = statement_memory(volume)
            extra["statement_pdf"] = statement_pdf(volume)
            print(f"  statement_pdf: {extra['statement_pdf']}", flush=True)
        extra["database"] = connection.vendor
        extra["documents"] = volume.made
        extra["big_holder_documents"] = args.per_holder
        extra["licences"] = args.licences
    extra["seconds"] = round(time.perf_counter() - started, 1)
    print_table(rows)
    for key, value in extra.items():
        print(f"  {key}: {value}")
    vendor = extra["database"]
    name = "documents-volume.json" if vendor == "sqlite" else f"documents-volume-{vendor}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"title": TITLE, "targets": TARGETS, "rows": [asdict(r) for r in rows], **extra}
    (RESULTS / name).write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(f"  details in bench/results/{name}")
    return 0


__all__ = ["main", "parser"]
