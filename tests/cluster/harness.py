"""What the fault tests need from the running cluster: its commands, HTTP through HAProxy, SQL
on the primary, a light load of clients that issue documents and verify them, and the checks
after each fault (nothing lost or duplicated, numbering gapless, everything verifies)."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
KHUTWA = ROOT / ".venv" / "bin" / "khutwa"
PASSWORD = os.environ.get("KHUTWA_DEMO_PASSWORD", "khutwa-demo")
#: Every line issued by the load carries this, then the request's own id.
MARK = "fault-load"


class Cluster:
    def __init__(self) -> None:
        self.base = int(os.environ.get("CLUSTER_BASE_PORT", "18400"))
        self.url = f"http://127.0.0.1:{self.base}"
        self._tokens: dict[str, str] = {}

    # processes ------------------------------------------------------------------------
    @staticmethod
    def outside_env() -> dict[str, str]:
        """This process's environment without the test suite's settings (its key passphrase,
        database): what the cluster was started with comes from var/cluster/node.env."""
        return {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KHUTWA_", "DJANGO_", "DATABASE_", "DB_")) or k == "KHUTWA_DEMO_PASSWORD"
        }

    def script(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [str(SCRIPT), *args],
            env=self.outside_env(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, f"cluster.sh {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def env(self) -> dict[str, str]:
        pairs = (line.split("=", 1) for line in self.script("env").splitlines() if "=" in line)
        return {**self.outside_env(), **dict(pairs), "DJANGO_SETTINGS_MODULE": "khutwa.config.settings"}

    def khutwa(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [str(KHUTWA), *args], env=self.env(), capture_output=True, text=True, timeout=300, check=False
        )

    def require_up(self) -> None:
        try:
            requests.get(f"{self.url}/healthz", timeout=5).raise_for_status()
        except requests.RequestException as exc:
            raise RuntimeError(
                f"the cluster does not answer at {self.url} ({exc}): run `make test-cluster`, "
                "or `scripts/cluster.sh up` first"
            ) from None

    def wait_healthy(self, seconds: float = 60) -> None:
        """Every node back in HAProxy's rotation (its health checks pass)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            states = self.haproxy_states()
            if states and all(state == "2" for state in states.values()):
                return
            time.sleep(0.5)
        raise AssertionError(f"nodes not healthy after {seconds} s: {self.haproxy_states()}")

    def haproxy_states(self) -> dict[str, str]:
        """Server name -> operational state (2 = up) from HAProxy's admin socket."""
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(ROOT / "var" / "cluster" / "run" / "haproxy.sock"))
            sock.sendall(b"show servers state nodes\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        states = {}
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) > 5 and parts[1] == "nodes":
                states[parts[3]] = parts[5]
        return states

    # SQL --------------------------------------------------------------------------------
    def sql(self, query: str, params: tuple[Any, ...] = (), *, port_offset: int = 1) -> list[tuple[Any, ...]]:
        """On the primary (offset 1) or the replica (2), past PgBouncer."""
        with psycopg.connect(
            host="127.0.0.1", port=self.base + port_offset, user="postgres", dbname="khutwa", autocommit=True
        ) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def bouncer_queries(self, port_offset: int) -> int:
        """Queries PgBouncer (offset 3: primary's, 4: replica's) has passed on (SHOW STATS)."""
        with psycopg.connect(
            host="127.0.0.1",
            port=self.base + port_offset,
            user="postgres",
            dbname="pgbouncer",
            autocommit=True,
        ) as conn:
            cursor = conn.cursor()
            cursor.execute("SHOW STATS")
            names = [c.name for c in cursor.description or ()]
            for row in cursor.fetchall():
                record = dict(zip(names, row, strict=True))
                if record["database"] == "khutwa":
                    return int(record["total_query_count"])
        return 0

    # HTTP -------------------------------------------------------------------------------
    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = requests.post(
                f"{self.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
            )
            response.raise_for_status()
            self._tokens[username] = response.json()["token"]
        return self._tokens[username]

    def api(self, method: str, path: str, *, user: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Accept-Language": "en", **kwargs.pop("headers", {})}
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def holder_basics(self) -> tuple[list[int], str]:
        customers = [c["id"] for c in self.api("GET", "/api/v1/customers", user="holder").json()["items"]]
        documents = self.api("GET", "/api/v1/documents?limit=50", user="holder").json()["items"]
        for document in documents:  # the newest may be a receipt or a statement: no lines
            detail = self.api("GET", f"/api/v1/documents/{document['public_id']}", user="holder").json()
            if detail.get("lines"):
                return customers, detail["lines"][0]["activity"]
        raise AssertionError("the demo holder has no document with lines")


@dataclass
class LightLoad:
    """A few clients issuing invoices and quotations (each retried with its Idempotency-Key
    until answered, as a careful integrator does) and a few verifying what was issued."""

    cluster: Cluster
    issuers: int = 3
    verifiers: int = 2
    acknowledged: dict[str, str] = field(default_factory=dict)  # request id -> public id
    acknowledged_at: dict[str, float] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    verified: Counter[int] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> LightLoad:
        self.customers, self.activity = self.cluster.holder_basics()
        self.cluster.token("holder")
        for target, count in ((self._issue_loop, self.issuers), (self._verify_loop, self.verifiers)):
            for _ in range(count):
                thread = threading.Thread(target=target, daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def run_for(self, seconds: float) -> None:
        time.sleep(seconds)

    def _issue_loop(self) -> None:
        while not self._stop.is_set():
            self.issue_one()

    def issue_one(self) -> None:
        request_id = uuid.uuid4().hex
        kind = random.choice(["invoice", "quotation"])
        body: dict[str, Any] = {
            "type": kind,
            "customer": random.choice(self.customers),
            "lines": [
                {
                    "activity": self.activity,
                    "description": f"{MARK} {request_id}",
                    "quantity": "1",
                    "unit": "piece",
                    "unit_price": "1.250",
                    "discount": "0",
                    "vat_category": "",
                    "item_code": "",
                    "brand": "",
                }
            ],
        }
        if kind == "quotation":
            body["valid_until"] = (dt.date.today() + dt.timedelta(days=30)).isoformat()  # noqa: DTZ011
        # Retried with the same key until answered: the key makes a retry return the document
        # already issued instead of a second one.
        for _attempt in range(120):
            try:
                response = self.cluster.api(
                    "POST",
                    "/api/v1/documents",
                    user="holder",
                    json=body,
                    headers={"Idempotency-Key": request_id},
                )
            except requests.RequestException as exc:
                self._fail(type(exc).__name__)
            else:
                if response.status_code in (200, 201):
                    with self._lock:
                        self.acknowledged[request_id] = response.json()["public_id"]
                        self.acknowledged_at[request_id] = time.monotonic()
                    return
                self._fail(str(response.status_code))
            time.sleep(0.25)

    def _verify_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                ids = list(self.acknowledged.values())
            if not ids:
                time.sleep(0.1)
                continue
            try:
                response = self.cluster.api("GET", f"/api/v1/verify/{random.choice(ids)}")
                with self._lock:
                    self.verified[response.status_code] += 1
            except requests.RequestException as exc:
                self._fail(type(exc).__name__)
            time.sleep(0.05)

    def _fail(self, reason: str) -> None:
        with self._lock:
            self.failures[reason] += 1

    def issued_after(self, moment: float) -> int:
        return sum(1 for at in self.acknowledged_at.values() if at > moment)


NUMBER = re.compile(r"^[A-Z]+-(\d{4})-(\d+)$")


def assert_intact(cluster: Cluster, load: LightLoad) -> None:
    """After a fault: every acknowledged document is stored once and verifies, no request made
    two documents, numbering and the chain counter are gapless, and the audit log and the
    documents' chains verify."""
    assert load.acknowledged, "the load issued nothing"
    rows = cluster.sql(
        "SELECT l.description, d.public_id::text FROM documents_documentline l "
        "JOIN documents_document d ON d.id = l.document_id WHERE l.description LIKE %s",
        (f"{MARK} %",),
    )
    per_request: dict[str, list[str]] = {}
    for description, public_id in rows:
        per_request.setdefault(description.split()[-1], []).append(public_id)
    duplicated = {key: ids for key, ids in per_request.items() if len(ids) > 1}
    assert not duplicated, f"requests that made more than one document: {duplicated}"
    lost = {key: pid for key, pid in load.acknowledged.items() if per_request.get(key) != [pid]}
    assert not lost, f"acknowledged documents not stored as answered: {lost}"
    # Gapless: per licence, type and year the numbers run 1..n; the chain counter runs 1..n.
    numbers: dict[tuple[int, str, str], list[int]] = {}
    counters: dict[int, list[int]] = {}
    for licence, kind, number, counter in cluster.sql(
        "SELECT licence_id, type, number, counter FROM documents_document"
    ):
        match = NUMBER.match(number)
        assert match, number
        numbers.setdefault((licence, kind, match.group(1)), []).append(int(match.group(2)))
        counters.setdefault(licence, []).append(counter)
    for key, values in numbers.items():
        assert sorted(values) == list(range(1, len(values) + 1)), f"numbering of {key} has a gap"
    for licence, values in counters.items():
        assert sorted(values) == list(range(1, len(values) + 1)), f"chain counter of licence {licence}"
    # Every acknowledged document verifies, through the public API.
    for public_id in load.acknowledged.values():
        response = cluster.api("GET", f"/api/v1/verify/{public_id}")
        assert response.status_code == 200 and response.json()["valid"], (public_id, response.text[:300])
    for command in ("audit-verify", "documents-verify"):
        done = cluster.khutwa(command)
        assert done.returncode == 0, f"khutwa {command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
