"""Messaging channels: a Celery worker serving the turns queue, pointed at the vendor fakes.

Each test module starts its own worker on a queue of its own (the webhook view, called in this
process, queues there through `settings.MESSAGING_QUEUE`), so modules never take each other's
turns and each worker's environment names the fakes it needs.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from bots.models import Bot, Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from tests.conftest import vendor_env
from tests.processes import Process, start_worker_on
from tests.services import subprocess_env


def start_turns_worker(fake_openai_server, *, queue: str = "", **env: str) -> tuple[Process, str]:
    """A threaded worker on a fresh queue (or `queue`), like the one `make run` starts for messaging."""
    queue = queue or f"turns-{time.time_ns()}"
    return start_worker_on(queue, subprocess_env(**vendor_env(fake_openai_server), **env), threads=8), queue


def wait_for(predicate, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def messaging_queue(settings):
    """Point this process's webhooks at the module's worker: use as `messaging_queue(queue)`."""

    def use(queue: str) -> None:
        settings.MESSAGING_QUEUE = queue

    return use


ONE_STEP_BOT = """
switchboard: 1
name: Answers
slug: answers
prompts:
  - {name: answer, system: You are a helpful assistant.}
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""


@pytest.fixture
def bot_api(transactional_db, settings) -> tuple[Bot, Client]:
    """A published one-step bot and its builder's API client; webhooks queue their turns where no
    worker reads them, so a test sees what a webhook left behind before any turn runs."""
    settings.MESSAGING_QUEUE = f"turns-unread-{time.time_ns()}"
    workspace = Workspace.objects.create(slug="answers", name="Answers")
    bot = import_bot(workspace=workspace, text=ONE_STEP_BOT)
    publish_bot(bot=bot, user=None)
    _, key = create_api_key(workspace=workspace, name="setup", scopes=["bots:read", "bots:write"])
    return bot, Client(headers={"Authorization": f"Bearer {key}"})
