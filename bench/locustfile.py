"""The load test's users (issue 11): public verification 60%, holders issuing quotations and
invoices 20%, reviewers and officers 10%, applicants 10%, through the API and the pages.

Run by ``python -m bench.loadtest`` (make loadtest), which logs the demo accounts in once and
passes their tokens, the holder's customers and documents in the JSON file named by
``KHUTWA_LOADTEST_DATA``. The ``read`` mix is PublicUser alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from locust import FastHttpUser, constant, task

with open(os.environ["KHUTWA_LOADTEST_DATA"], encoding="utf-8") as _file:
    DATA: dict[str, Any] = json.load(_file)

_counter = itertools.count()
BAHRAIN = ZoneInfo("Asia/Bahrain")


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {DATA['tokens'][role]}", "Accept-Language": "en"}


class FloorUser(FastHttpUser):
    """The floor: /healthz (one `SELECT 1` on the primary), measured in the same conditions."""

    weight = 1  # run alone (the floor mix), never beside the others
    wait_time = constant(0)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="healthz")


class PublicUser(FastHttpUser):
    """Someone who scanned a QR code, or an integrator checking a document or a licence."""

    weight = 60
    wait_time = constant(0)

    @task(6)
    def verify_api(self) -> None:
        public_id = random.choice(DATA["documents"])
        self.client.get(f"/api/v1/verify/{public_id}", name="verify API")

    @task(3)
    def verify_page(self) -> None:
        public_id = random.choice(DATA["documents"])
        self.client.get(f"/ar/verify/{public_id}", name="verify page")

    @task(1)
    def licence_check(self) -> None:
        self.client.get(f"/api/v1/licences/{random.choice(DATA['licences'])}", name="licence check API")


class HolderUser(FastHttpUser):
    """The licence holder issuing quotations and invoices (one licence: one numbering chain)."""

    weight = 20
    wait_time = constant(0)

    def _issue(self, kind: str) -> None:
        number = next(_counter)
        body = {
            "type": kind,
            "customer": random.choice(DATA["customers"]),
            "lines": [
                {
                    "activity": DATA["activity"],
                    "description": f"Load test {kind} {number}",
                    "quantity": str(1 + number % 5),
                    "unit": "piece",
                    "unit_price": "2.500",
                    "discount": "0",
                    "vat_category": "",
                    "item_code": "",
                    "brand": "",
                }
            ],
        }
        if kind == "quotation":
            body["valid_until"] = (dt.datetime.now(BAHRAIN).date() + dt.timedelta(days=30)).isoformat()
        headers = {**bearer("holder"), "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(
            "/api/v1/documents", json=body, headers=headers, name=f"issue {kind}", catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")

    @task(2)
    def issue_invoice(self) -> None:
        self._issue("invoice")

    @task(2)
    def issue_quotation(self) -> None:
        self._issue("quotation")

    @task(1)
    def my_documents(self) -> None:
        self.client.get("/api/v1/documents?limit=20", headers=bearer("holder"), name="holder documents")


class StaffUser(FastHttpUser):
    """A reviewer working through the queue; a Tamkeen officer looking at applications."""

    weight = 10
    wait_time = constant(0)

    @task
    def review_queue(self) -> None:
        self.client.get("/api/v1/reviews?limit=20", headers=bearer("reviewer"), name="reviewer queue")

    @task
    def officer_queue(self) -> None:
        self.client.get(
            "/api/v1/support/applications?limit=20", headers=bearer("officer"), name="officer queue"
        )


class ApplicantUser(FastHttpUser):
    """An applicant reading the information centre and their own account."""

    weight = 10
    wait_time = constant(0)

    @task
    def home(self) -> None:
        self.client.get("/ar/", name="home page")

    @task
    def activities(self) -> None:
        self.client.get("/api/v1/catalogue/activities", name="catalogue API")

    @task
    def me(self) -> None:
        self.client.get("/api/v1/me", headers=bearer("applicant"), name="me API")
