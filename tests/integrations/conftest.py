"""Integrations fixtures: a webhook receiver and a fake Zendesk, and our own ASGI server and
Celery worker on a queue of their own, so retries run with short waits and reach the fakes."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from bots.models import Workspace
from tests.chat.conftest import open_chat
from tests.conftest import vendor_env
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fakes.zendesk_server import FakeZendesk
from tests.inbox.conftest import make_bot
from tests.processes import start_asgi, start_worker_on
from tests.services import subprocess_env

QUEUE = "integrations-tests"
MAX_ATTEMPTS = 3
ZENDESK_EMAIL, ZENDESK_TOKEN = "bot@acme.example", "zd-test-token"


@pytest.fixture(scope="session")
def receiver():
    fake = WebhookReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_zendesk():
    fake = FakeZendesk(ZENDESK_EMAIL, ZENDESK_TOKEN).start()
    yield fake
    fake.stop()


def _env(fake_openai_server, fake_zendesk) -> dict[str, str]:
    return subprocess_env(
        **vendor_env(fake_openai_server),
        INTEGRATIONS_QUEUE=QUEUE,
        INTEGRATION_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        INTEGRATION_RETRY_BASE_MS="200",
        ZENDESK_API_URL=fake_zendesk.base_url,
    )


@pytest.fixture(scope="session")
def integrations_worker(django_db_setup, django_db_blocker, fake_openai_server, fake_zendesk):
    proc = start_worker_on(QUEUE, _env(fake_openai_server, fake_zendesk))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def integrations_server(django_db_setup, django_db_blocker, fake_openai_server, fake_zendesk):
    proc, base = start_asgi(_env(fake_openai_server, fake_zendesk))
    yield base
    proc.stop()


@pytest.fixture
def live(integrations_worker, integrations_server, receiver, fake_zendesk, fake_openai, settings):
    """Everything running; this process queues on the same queue (admin actions)."""
    settings.INTEGRATIONS_QUEUE = QUEUE
    receiver.reset()
    fake_zendesk.reset()
    return integrations_server


@pytest.fixture
def bot(transactional_db):
    # The receiver and Zendesk fakes listen on loopback, which the workspace must allow.
    Workspace.objects.create(name="Acme", slug="acme", tool_allowed_hosts=["127.0.0.1"], allow_private_networks=True)
    return make_bot("acme")


async def ask_for_a_person(base: str, public_key: str) -> None:
    """A customer on the widget asks for a person; returns once the bot has handed off."""
    async with open_chat(base, public_key) as chat:
        await chat.send(type="start")
        await chat.until("done")
        await chat.send(type="message", text="I want to talk to a person please")
        frames = await chat.until("done")
    assert any(f["type"] == "handoff" for f in frames), frames


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll the database (a fresh connection each time) until `predicate()` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        connection.close()
        time.sleep(0.1)


@sync_to_async
def in_thread(fn, *args):
    try:
        return fn(*args)
    finally:
        connection.close()


def run(coro):
    return asyncio.run(coro)
