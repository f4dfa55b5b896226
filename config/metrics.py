"""Prometheus metrics at `/metrics`, for a scraper holding `METRICS_TOKEN` (Authorization: Bearer).

Histograms and counters live in each process; with several web workers set
`PROMETHEUS_MULTIPROC_DIR` (an empty directory per host) and every worker's figures are summed at
scrape time. Figures that are the same whichever process answers — queue depths, circuit
breakers, calls in progress — are read from Redis and the database when scraped.
"""

from __future__ import annotations

import hmac
import os
import time

import redis
from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30)

HTTP_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "HTTP requests served by Django, by method, route and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
TURN_SECONDS = Histogram(
    "switchboard_turn_duration_seconds",
    "Dialogue turns from the message received to the last event, by channel.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
SOCKETS = Gauge("switchboard_chat_sockets", "Widget WebSockets open.", multiprocess_mode="livesum")
VENDOR_ERRORS = Counter(
    "switchboard_vendor_errors_total", "Failed vendor requests (LLM attempts, speech, tools).", ["vendor", "model"]
)
BREAKER_STATES = {"closed": 0, "half_open": 0.5, "open": 1}


class _Shared:
    """Scrape-time figures shared by every process."""

    def collect(self):
        from voice.models import Call

        # The same Redis as Celery's broker: a queue is a list named after it.
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        queues = GaugeMetricFamily("switchboard_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"])
        for queue in sorted({"celery", settings.MESSAGING_QUEUE, settings.INTEGRATIONS_QUEUE}):
            queues.add_metric([queue], client.llen(queue))
        yield queues
        breakers = GaugeMetricFamily(
            "switchboard_llm_breaker_open",
            "Circuit breaker per model: 0 closed, 0.5 half-open, 1 open.",
            labels=["model"],
        )
        now = time.time()
        for key in client.scan_iter(match="sb:breaker:*:open_until", count=200):
            key = key.decode() if isinstance(key, bytes) else key
            until = client.get(key)
            if until is not None:
                state = "open" if now < float(until) else "half_open"
                breakers.add_metric([key[len("sb:breaker:") : -len(":open_until")]], BREAKER_STATES[state])
        yield breakers
        calls = Call.objects.filter(outcome=Call.Outcome.ONGOING).count()
        yield GaugeMetricFamily("switchboard_active_calls", "Phone calls in progress.", value=calls)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Local())
    registry.register(_Shared())
    return registry


class _Local:
    """This process's own metrics (the default registry), without the shared ones registered twice."""

    def collect(self):
        yield from REGISTRY.collect()


def metrics_view(request):
    """`GET /metrics` with `Authorization: Bearer <METRICS_TOKEN>`; 404 when no token is configured."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Set METRICS_TOKEN to serve /metrics.")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
