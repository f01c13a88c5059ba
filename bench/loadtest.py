"""The cluster under load (make loadtest; issue 11; docs/scaling.md).

Brings the local cluster up (scripts/cluster.sh) with the rate limits raised (every simulated
client shares 127.0.0.1), logs the demo accounts in once, then runs locust headless through
HAProxy for a bounded time per run: the read mix (public verification and the licence check)
and the full mix (60% public, 20% holders issuing, 10% staff, 10% applicants), each with one
node (HAProxy's node2 disabled over its admin socket) and with two. Reports throughput,
p50/p95/p99 and errors, the issue's ratios, and checks the audit log and the documents after.

    python -m bench.loadtest [--seconds 60] [--users 40] [--mixes read,full] [--keep]

Results: bench/results/loadtest-<date>.json and a markdown table (printed and beside it).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "scripts" / "cluster.sh"
RUN_DIR = ROOT / "var" / "cluster" / "loadtest"
RESULTS = ROOT / "bench" / "results"
LOCUST = ROOT / ".venv" / "bin" / "locust"
KHUTWA = ROOT / ".venv" / "bin" / "khutwa"
MIXES = {
    "floor": ["FloorUser"],
    "read": ["PublicUser"],
    "full": ["PublicUser", "HolderUser", "StaffUser", "ApplicantUser"],
}
#: Limits high enough that no simulated client is refused (they all share one address).
RAISED = {
    "KHUTWA_PUBLIC_RATE": "1000000/m",
    "KHUTWA_TRACK_RATE": "1000000/m",
    "KHUTWA_PDF_CHECK_RATE": "1000000/m",
}


def base_port() -> int:
    return int(os.environ.get("CLUSTER_BASE_PORT", "18400"))


def url() -> str:
    return f"http://127.0.0.1:{base_port()}"


def cluster(action: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(CLUSTER), action], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"scripts/cluster.sh {action} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def cluster_env() -> dict[str, str]:
    lines = cluster("env").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def haproxy(command: str) -> str:
    """One command on HAProxy's admin socket (enable/disable server nodes/node2)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(ROOT / "var" / "cluster" / "run" / "haproxy.sock"))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def api(path: str, *, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        url() + path, data=json.dumps(body).encode() if body else None, headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def prepare(password: str) -> dict[str, Any]:
    """Tokens of the demo accounts, the holder's customers, documents and an activity, licences."""
    tokens = {
        role: api("/api/v1/auth/token", body={"username": username, "password": password})["token"]
        for role, username in (
            ("holder", "holder"),
            ("reviewer", "reviewer-municipality"),
            ("officer", "tamkeen-officer"),
            ("applicant", "applicant"),
        )
    }
    documents = api("/api/v1/documents?limit=500", token=tokens["holder"])["items"]
    first = api(f"/api/v1/documents/{documents[-1]['public_id']}", token=tokens["holder"])
    customers = [c["id"] for c in api("/api/v1/customers?limit=50", token=tokens["holder"])["items"]]
    return {
        "tokens": tokens,
        "documents": [d["public_id"] for d in documents],
        "customers": customers,
        "activity": first["lines"][0]["activity"],
        "licences": licences_with_codes(),
    }


def licences_with_codes() -> list[str]:
    """Public licence numbers with their check codes, read from the primary."""
    env = {**os.environ, **cluster_env()}
    code = (
        "from khutwa.licensing.models import Licence;"
        "print('\\n'.join(f'{n}-{c}' for n, c in Licence.objects.values_list('number', 'check_code')[:200]))"
    )
    done = subprocess.run(
        [str(KHUTWA), "shell", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return [line for line in done.stdout.split() if line.startswith("KH-")]


def run_locust(name: str, mix: str, users: int, seconds: int, data_file: Path) -> dict[str, Any]:
    prefix = RUN_DIR / name
    command = [
        str(LOCUST),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        url(),
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
        *MIXES[mix],
    ]
    env = {**os.environ, "KHUTWA_LOADTEST_DATA": str(data_file)}
    subprocess.run(command, env=env, check=False, capture_output=True)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return {row["Name"]: _row(row) for row in rows}


def _row(row: dict[str, str]) -> dict[str, Any]:
    def number(key: str) -> float:
        value = row.get(key, "") or "0"
        return float(value) if value != "N/A" else 0.0

    return {
        "requests": int(number("Request Count")),
        "failures": int(number("Failure Count")),
        "rps": round(number("Requests/s"), 1),
        "p50_ms": number("50%"),
        "p95_ms": number("95%"),
        "p99_ms": number("99%"),
        "mean_ms": round(number("Average Response Time"), 1),
    }


def check_chains() -> dict[str, int]:
    """audit-verify and documents-verify on the primary after the load: exit codes (0 intact)."""
    env = {**os.environ, **cluster_env()}
    return {
        command: subprocess.run(
            [str(KHUTWA), command], env=env, capture_output=True, text=True, check=False
        ).returncode
        for command in ("audit-verify", "documents-verify")
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| run | requests/s | requests | errors | p50 ms | p95 ms | p99 ms | verify API p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, stats in results.items():
        total = stats["Aggregated"]
        verify = stats.get("verify API", {})
        lines.append(
            f"| {name} | {total['rps']} | {total['requests']} | {total['failures']} | {total['p50_ms']:.0f} "
            f"| {total['p95_ms']:.0f} | {total['p99_ms']:.0f} "
            f"| {verify.get('p50_ms', 0):.0f} / {verify.get('p99_ms', 0):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="length of each run (default 60)")
    parser.add_argument("--users", type=int, default=40, help="simulated users (default 40)")
    parser.add_argument(
        "--mixes", default="floor,read,full", help="floor (/healthz), read, full (default: all three)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    args = parser.parse_args(argv)
    mixes = [m for m in args.mixes.split(",") if m]
    if any(m not in MIXES for m in mixes) or not 5 <= args.seconds <= 600 or args.users < 1:
        parser.error("--mixes takes floor, read and full; --seconds 5..600; --users at least 1")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    cluster("down")  # started again with the raised rate limits
    print(cluster("up", RAISED), end="")
    results: dict[str, dict[str, Any]] = {}
    try:
        data = prepare(os.environ.get("KHUTWA_DEMO_PASSWORD", "khutwa-demo"))
        data_file = RUN_DIR / "data.json"
        data_file.write_text(json.dumps(data))
        for mix in mixes:
            for nodes in (1, 2):
                haproxy(f"{'disable' if nodes == 1 else 'enable'} server nodes/node2")
                time.sleep(2)
                name = f"{mix}, {nodes} node{'s' if nodes > 1 else ''}"
                print(f"loadtest: {name}, {args.users} users, {args.seconds} s", flush=True)
                results[name] = run_locust(f"{mix}-{nodes}", mix, args.users, args.seconds, data_file)
        chains = check_chains()
    finally:
        if not args.keep:
            cluster("down")
    summary = ratios(results)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_after": os.getloadavg()},
        "users": args.users,
        "seconds": args.seconds,
        "results": results,
        "ratios": summary,
        "mixes": MIXES,
        "chains_after": chains,
    }
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M")
    out = RESULTS / f"loadtest-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    markdown = table(results) + "\n\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items())
    (RESULTS / f"loadtest-{stamp}.md").write_text(markdown + "\n")
    print(markdown)
    print(f"audit-verify exit {chains['audit-verify']}, documents-verify exit {chains['documents-verify']}")
    print(f"loadtest: results in {out.relative_to(ROOT)}")
    return 0 if all(code == 0 for code in chains.values()) else 1


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    summary: dict[str, str] = {}
    for mix in MIXES:
        one, two = results.get(f"{mix}, 1 node"), results.get(f"{mix}, 2 nodes")
        if one and two and one["Aggregated"]["rps"]:
            ratio = two["Aggregated"]["rps"] / one["Aggregated"]["rps"]
            target = " (target >= 1.5)" if mix == "read" else ""
            if mix == "floor":
                target = " (what the machine gives a trivial request)"
            summary[f"{mix} mix, two nodes / one node throughput"] = f"{ratio:.2f}{target}"
        floor = results.get(f"floor, {'2 nodes' if two else '1 node'}")
        if mix == "read" and floor and (two or one):
            mine = (two or one or {})["Aggregated"]["rps"]
            summary["read mix throughput / /healthz throughput"] = f"{mine / floor['Aggregated']['rps']:.2f}"
        for nodes, stats in (("1 node", one), ("2 nodes", two)):
            verify = (stats or {}).get("verify API")
            if verify and verify["p50_ms"]:
                summary[f"{mix} mix, {nodes}: verify API p99 / p50"] = (
                    f"{verify['p99_ms'] / verify['p50_ms']:.2f} (target <= 3)"
                )
    return summary


if __name__ == "__main__":
    sys.exit(main())
