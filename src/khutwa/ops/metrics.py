"""Prometheus metrics for the operator at /metrics.

Two kinds:
- counters of what happens in requests (verifications by outcome), kept per process by
  prometheus_client; under gunicorn they are summed over the node's workers through
  prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by
  config/gunicorn.py). Each node is scraped on its own address, as Prometheus does;
- gauges read from the database when scraped, the same whichever node answers: documents
  issued by type, licences by status, the task queue's depth and the age of its oldest task,
  dead letters, webhook deliveries waiting or failed.

Access: `Authorization: Bearer <KHUTWA_METRICS_TOKEN>`, or a signed-in system administrator;
anyone else gets 404, as if there were no such page.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from khutwa.accounts.roles import Role

VERIFICATIONS = Counter(
    "khutwa_verifications",
    "Public verifications answered, by what was checked and the outcome.",
    ["kind", "outcome"],
)


def count_verification(kind: str, outcome: str) -> None:
    """kind: record (by public id) or pdf (an uploaded file); outcome: valid, invalid, not_found,
    uncheckable."""
    VERIFICATIONS.labels(kind=kind, outcome=outcome).inc()


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time (a few indexed COUNTs)."""

    def collect(self) -> Iterator[Metric]:
        from khutwa.documents.models import Document
        from khutwa.jobs.models import DeadLetter
        from khutwa.licensing.models import Licence
        from khutwa.ops.health import task_queue
        from khutwa.webhooks.models import Delivery, DeliveryStatus

        issued = GaugeMetricFamily("khutwa_documents", "Documents issued, by type.", labels=["type"])
        for row in Document.objects.values("type").annotate(n=Count("id")).order_by("type"):
            issued.add_metric([row["type"]], row["n"])
        yield issued
        licences = GaugeMetricFamily("khutwa_licences", "Licences, by status.", labels=["status"])
        for row in Licence.objects.values("status").annotate(n=Count("id")).order_by("status"):
            licences.add_metric([row["status"]], row["n"])
        yield licences
        queue = task_queue()
        yield GaugeMetricFamily("khutwa_tasks_ready", "Tasks waiting for a worker.", value=queue.ready)
        yield GaugeMetricFamily("khutwa_tasks_running", "Tasks being run by a worker.", value=queue.running)
        yield GaugeMetricFamily(
            "khutwa_tasks_oldest_ready_seconds",
            "Age of the oldest task due and not yet started (0 when none).",
            value=queue.oldest_seconds,
        )
        yield GaugeMetricFamily(
            "khutwa_tasks_dead_letters",
            "Tasks that kept failing, waiting for an administrator.",
            value=DeadLetter.objects.filter(replayed_at__isnull=True).count(),
        )
        for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
            yield GaugeMetricFamily(
                f"khutwa_webhook_deliveries_{status}",
                f"Webhook deliveries {status}.",
                value=Delivery.objects.filter(status=status).count(),
            )


def _allowed(request: HttpRequest) -> bool:
    token = settings.KHUTWA_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].encode(), token.encode())
    user: Any = request.user
    return bool(user.is_authenticated and Role.SYSADMIN in user.role_names())


def registry() -> CollectorRegistry:
    fresh = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(fresh)  # the node's workers' counters, summed
    else:
        fresh.register(VERIFICATIONS)
    fresh.register(DatabaseCollector())  # one that raises fails the scrape, not the site
    return fresh


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
