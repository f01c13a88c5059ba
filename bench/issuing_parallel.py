"""Issuing in parallel on PostgreSQL (issue 13): N processes, each issuing 5-line invoices for
its own licence (holders, licences and customers prepared before timing), for N = 1, 2, 4; the
aggregate documents per second against one process. With one global lock on the write path
(the audit log's single head row, before issue 13) more processes add nothing; with a chain per
licence two processes should reach ≥ 1.7× one.

    scripts/with-postgres.sh .venv/bin/python -m bench issuing-parallel
        [--processes 1,2,4] [--invoices 200] [--database-url postgres://…] [--one-chain]
        [--with-sequencer]

--one-chain writes every audit event to one chain (`system`): the global lock as it was, for a
before/after in one run. --with-sequencer runs `khutwa log-sequencer` (the transparency log,
issue 13) beside the issuing processes, when this tree has it. A fresh database is created on
the server of the URL (DATABASE_URL by default) and dropped afterwards.

Ratios, never times, are what to compare between runs: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.harness import BIN, RESULTS, ROOT, environment, fresh_postgres, is_postgres, khutwa

TITLE = "issuing-parallel: N processes issuing for their own licences on PostgreSQL"
#: Aggregate documents/s of 2 processes over 1 process.
TARGET_TWO = 1.7
WARMUP = 10
HOLDER = "bench-parallel-{}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench issuing-parallel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--processes", default="1,2,4", help="comma-separated process counts (default 1,2,4)")
    p.add_argument("--invoices", type=int, default=200, help="invoices each process issues (timed)")
    p.add_argument("--database-url", default=None, help="a PostgreSQL server (default: DATABASE_URL)")
    p.add_argument("--one-chain", action="store_true", help="every audit event in one chain (the old lock)")
    p.add_argument("--with-sequencer", action="store_true", help="run khutwa log-sequencer beside them")
    return p


# The worker: one process issuing for one holder ----------------------------------------------------


def worker(holder: str, count: int) -> None:
    """Set up, say `ready`, wait for `go` on stdin, issue `count` invoices, print the times."""
    import django

    django.setup()
    if os.environ.get("BENCH_ONE_AUDIT_CHAIN") == "1":
        from khutwa.audit import services as audit_services

        audit_services.chain_for = lambda obj: "system"  # type: ignore[assignment]
    from bench.documents import Issuer
    from khutwa.accounts.models import User
    from khutwa.documents.models import Customer

    user = User.objects.get(username=holder)
    customer = Customer.objects.filter(owner=user).values_list("pk", flat=True).first()
    issue = Issuer(user)
    for _ in range(WARMUP):
        issue(customer)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    for _ in range(count):
        issue(customer)
    print(json.dumps({"started": started, "ended": time.time(), "issued": count}), flush=True)


# The parent ------------------------------------------------------------------------------------------


def _prepare(holders: int) -> None:
    """One holder per process, each with an active licence and a customer (not timed)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.licensing.factories import World

    from khutwa.documents.services import customer_create

    for n in range(holders):
        world = World()
        world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
        world.applicant.username = HOLDER.format(n)
        world.applicant.save(update_fields=["username"])
        customer_create(actor=world.applicant, kind="individual", cpr="870303003", name_en="Customer")


def _run(processes: int, invoices: int, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.issuing_parallel", "worker"]
    workers = [
        subprocess.Popen(
            [*command, HOLDER.format(n), str(invoices)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    for w in workers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    results = []
    for w in workers:
        out, _ = w.communicate(timeout=3600)
        if w.returncode:
            raise RuntimeError(f"an issuing process failed ({w.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    issued = sum(r["issued"] for r in results)
    return {"processes": processes, "issued": issued, "seconds": round(wall, 3), "docs_per_s": issued / wall}


def _sequencer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The transparency log's sequencer (part A of issue 13), appending every second."""
    return subprocess.Popen([str(BIN / "khutwa"), "log-sequencer"], env=env, stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        worker(argv[1], int(argv[2]))
        return 0
    args = parser().parse_args(argv)
    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    server_url = args.database_url or os.environ.get("DATABASE_URL", "")
    if not is_postgres(server_url):
        print(
            "issuing-parallel needs PostgreSQL: run it under scripts/with-postgres.sh or give "
            "--database-url postgres://…",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    with (
        fresh_postgres(server_url, "khutwa_bench_parallel") as database_url,
        environment(database_url) as env,
    ):
        extra = {
            "KHUTWA_KEY_DIR": os.path.join(env["KHUTWA_VAR_DIR"], "keys"),
            "KHUTWA_KEY_PASSPHRASE": "bench-passphrase",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        os.environ.update(extra)
        khutwa("migrate", "--noinput")
        import django

        django.setup()
        from django.core.management import get_commands

        if args.with_sequencer and "log_sequencer" not in get_commands():
            print(
                "--with-sequencer: this tree has no `khutwa log-sequencer` (issue 13, part A)",
                file=sys.stderr,
            )
            return 2
        _prepare(max(counts))
        from django.db import connections

        connections.close_all()
        child_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if args.one_chain:
            child_env["BENCH_ONE_AUDIT_CHAIN"] = "1"
        sequencer = _sequencer(child_env) if args.with_sequencer else None
        try:
            runs = [_run(n, args.invoices, child_env) for n in counts]
        finally:
            if sequencer is not None:
                sequencer.terminate()
                sequencer.wait(timeout=60)
    base = next((r for r in runs if r["processes"] == 1), runs[0])
    print(f"\n{TITLE}")
    chain = "one audit chain (the old global lock)" if args.one_chain else "a chain per licence"
    sequenced = "; log sequencer running" if sequencer is not None else ""
    print(f"  {chain}{sequenced}; {args.invoices} invoices per process")
    print(f"{'processes':>10}{'docs/s':>10}{'× 1 process':>13}{'target':>9}")
    for run in runs:
        run["ratio"] = round(run["docs_per_s"] / base["docs_per_s"], 3)
        target = f"≥ {TARGET_TWO:.2f}" if run["processes"] == 2 else ""
        verdict = ("ok" if run["ratio"] >= TARGET_TWO else "MISSED") if target else ""
        print(f"{run['processes']:>10}{run['docs_per_s']:>10.1f}{run['ratio']:>13.2f}{target:>9}  {verdict}")
        run["docs_per_s"] = round(run["docs_per_s"], 1)
    seconds = round(time.perf_counter() - started, 1)
    print(f"  whole run {seconds} s; details in bench/results/issuing-parallel.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "title": TITLE,
        "target_two_processes": TARGET_TWO,
        "one_chain": args.one_chain,
        "sequencer": sequencer is not None,
        "invoices_per_process": args.invoices,
        "runs": runs,
        "seconds": seconds,
    }
    (RESULTS / "issuing-parallel.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["main", "parser"]
