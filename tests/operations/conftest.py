"""Operations fixtures: a published bot with intents that hands off when asked for a person, and a
person talking to it over the chat API of the real ASGI server (the product's own path)."""

from __future__ import annotations

import httpx
import pytest

from bots.models import Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from tests.integrations.conftest import (  # noqa: F401 - the webhook receiver and its worker, for alerts
    fake_zendesk,
    integrations_server,
    integrations_worker,
    live,
    receiver,
)
from tests.messaging.conftest import messaging_queue  # noqa: F401 - WhatsApp ratings
from tests.messaging.test_whatsapp import deepgram, graph, whatsapp_worker  # noqa: F401

BOT_YAML = """
switchboard: 1
name: {name}
slug: {slug}
greeting: Hello from {name}!
intents:
  - {{name: refund, examples: [I want my money back, refund please, how do I get a refund, I would like a refund for my order]}}
  - {{name: opening_hours, examples: [when are you open, what are your opening hours, are you open on sunday, what time do you close]}}
prompts:
  - name: answer
    system: You are a helpful assistant.
escalation_rules:
  - name: Asks for a person
    trigger: explicit_request
    queue: support
    message: Of course, I'm connecting you with a person.
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {{id: answer, kind: llm, prompt: answer}}
"""


def make_bot(workspace_slug: str = "acme", name: str = "Help Bot"):
    workspace, _ = Workspace.objects.get_or_create(
        slug=workspace_slug,
        defaults={"name": workspace_slug.title(), "tool_allowed_hosts": ["127.0.0.1"], "allow_private_networks": True},
    )
    bot = import_bot(workspace=workspace, text=BOT_YAML.format(name=name, slug=name.lower().replace(" ", "-")))
    publish_bot(bot=bot, user=None)
    return bot


@pytest.fixture
def bot(transactional_db, fake_openai):
    return make_bot()


class Person:
    """Someone talking to a bot over the chat API, with the conversation token it hands out."""

    def __init__(self, base: str, bot):
        self.client = httpx.Client(base_url=base, timeout=30)
        self.bot = bot
        started = self.client.post("/api/v1/chat/conversations", json={}, headers={"X-Bot-Key": bot.public_key})
        assert started.status_code == 201, started.text
        self.conversation = started.json()

    @property
    def id(self) -> int:
        return self.conversation["id"]

    def headers(self) -> dict:
        return {"X-Bot-Key": self.bot.public_key, "X-Conversation-Token": self.conversation["token"]}

    def say(self, text: str) -> dict:
        reply = self.client.post(
            f"/api/v1/chat/conversations/{self.id}/messages", json={"text": text}, headers=self.headers()
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    def rate(self, **body) -> httpx.Response:
        return self.client.post(f"/api/v1/chat/conversations/{self.id}/rating", json=body, headers=self.headers())

    def close(self):
        self.client.close()
