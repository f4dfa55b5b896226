"""What operators plug in: OTLP traces (one trace per turn, channel → engine → LLM, no text in
them), Prometheus metrics behind a token."""

from __future__ import annotations

import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from tests.chat.conftest import open_chat
from tests.conftest import vendor_env
from tests.fakes.otlp_collector import FakeCollector
from tests.operations.conftest import make_bot
from tests.processes import start_asgi
from tests.services import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "metrics-token-for-tests"
SAID = "my email is jane.roe@example.com and I want shoes"


@pytest.fixture(scope="module")
def collector():
    fake = FakeCollector().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def observed_server(django_db_setup, django_db_blocker, fake_openai_server, collector):
    env = subprocess_env(
        **vendor_env(fake_openai_server),
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.base_url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # export within a tenth of a second, not five
        METRICS_TOKEN=TOKEN,
    )
    proc, base = start_asgi(env)
    yield base
    proc.stop()


def wait_for_spans(collector, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = collector.received()
        if predicate(spans):
            return spans
        time.sleep(0.1)
    raise AssertionError(f"spans never arrived: {[s['name'] for s in collector.received()]}")


async def test_a_widget_turn_is_one_trace_from_the_socket_to_the_model(observed_server, collector, fake_openai):
    bot = await sync_to_async(make_bot)()
    collector.reset()
    async with open_chat(observed_server, bot.public_key) as chat:
        await chat.send(type="start")
        await chat.until("done")
        await chat.send(type="message", text=SAID)
        frames = await chat.until("done")
    assert any(f["type"] == "message" for f in frames)

    def has_llm_and_its_parents(spans):
        # Spans leave in batches as they end: the turn's and the socket's end after the LLM's.
        by_id = {s["span_id"]: s for s in spans}
        for s in spans:
            if s["name"] == "chat gpt-4o-mini":
                parent = by_id.get(s["parent_span_id"])
                return parent is not None and parent["parent_span_id"] in by_id
        return False

    spans = await sync_to_async(wait_for_spans)(collector, has_llm_and_its_parents)
    llm = next(s for s in spans if s["name"] == "chat gpt-4o-mini")
    by_id = {s["span_id"]: s for s in spans}
    engine = by_id[llm["parent_span_id"]]
    channel = by_id[engine["parent_span_id"]]
    assert (engine["name"], channel["name"]) == ("dialogue.turn", "websocket.turn")
    assert channel["parent_span_id"] == ""  # the turn is a trace of its own
    assert llm["trace_id"] == engine["trace_id"] == channel["trace_id"]
    assert llm["attributes"]["gen_ai.operation.name"] == "chat"
    assert llm["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert llm["attributes"]["gen_ai.usage.input_tokens"] > 0 and llm["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert engine["attributes"]["switchboard.mode"] == "chat" and llm["service"] == "switchboard"
    # Nothing the person or the bot said leaves in a span, redacted or not.
    exported = b"".join(collector.bodies)
    assert b"jane.roe" not in exported and b"shoes" not in exported and b"You asked" not in exported


def test_metrics_need_the_token_and_parse_as_prometheus_text(observed_server, collector):
    with httpx.Client(base_url=observed_server, timeout=20) as client:
        assert client.get("/healthz").status_code == 200
        refused = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == wrong.status_code == 401
    assert "METRICS_TOKEN" in refused.text and "switchboard_" not in wrong.text
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    for name in (
        "switchboard_http_request_duration_seconds",
        "switchboard_chat_sockets",
        "switchboard_queue_depth",
        "switchboard_active_calls",
        "switchboard_llm_breaker_open",
    ):
        assert name in families, name
    routes = {s.labels.get("route") for s in families["switchboard_http_request_duration_seconds"].samples}
    assert "healthz" in routes
    queues = {s.labels["queue"]: s.value for s in families["switchboard_queue_depth"].samples}
    assert set(queues) >= {"celery", "turns"} and all(v >= 0 for v in queues.values())
    # The request was also a server span.
    spans = wait_for_spans(collector, lambda ss: any(s["name"] == "HTTP GET healthz" for s in ss))
    assert next(s for s in spans if s["name"] == "HTTP GET healthz")["attributes"]["http.response.status_code"] == 200


def test_without_a_token_configured_metrics_are_not_served(asgi_server):
    assert httpx.get(asgi_server + "/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
