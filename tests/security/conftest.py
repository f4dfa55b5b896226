"""An attacker's view of a running install: a real ASGI server with small limits, a published
bot that remembers its contacts, and its website chat channel set up through the API."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from bots.models import Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from channels_app.identity import sign
from tests.conftest import vendor_env
from tests.processes import start_asgi
from tests.services import subprocess_env

IDENTITY_SECRET = "site-backend-identity-secret-0123456789"
HEALTH_TOKEN = "monitoring-token-for-tests"
LIMITS = {
    "CHAT_CONVERSATIONS_PER_MINUTE_IP": "4",
    "CHAT_CONVERSATIONS_PER_MINUTE_CONTACT": "3",
    "CHAT_TOKEN_TTL_S": "3",
    "LOGIN_FAILURE_LIMIT": "3",
    "HEALTH_TOKEN": HEALTH_TOKEN,
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-of-the-install",
    "PUBLIC_BASE_URL": "http://hooks.example.com",  # what Twilio signs (plain HTTP: no redirect here)
}

MEMORY_BOT = """
switchboard: 1
name: Memory Bot
slug: {slug}
greeting: Hello!
prompts:
  - name: answer
    system: You are a helpful assistant.
flows:
  - name: main
    is_entry: true
    graph:
      entry: ask_city
      nodes:
        - {{id: ask_city, kind: ask, slot: city, type: text, prompt: "Which city do you live in?", remember: true, next: answer}}
        - {{id: answer, kind: llm, prompt: answer}}
"""

_addresses = itertools.count(10)


def new_address() -> dict[str, str]:
    """A client address of its own (the server trusts the local proxy's X-Forwarded-For), so
    each test starts under the per-address limits."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}


@pytest.fixture(scope="module")
def security_server(django_db_setup, django_db_blocker, fake_openai_server):
    proc, base = start_asgi(subprocess_env(**vendor_env(fake_openai_server), **LIMITS))
    yield base
    proc.stop()


def api_client(base: str, workspace: Workspace, *scopes: str) -> httpx.Client:
    _, key = create_api_key(
        workspace=workspace, name="security tests", scopes=list(scopes or ["bots:read", "bots:write"])
    )
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=20)


@pytest.fixture
def memory_bot(transactional_db, fake_openai, security_server):
    """A published bot whose website chat channel the builder set up with an identity secret."""
    workspace = Workspace.objects.create(slug="shop", name="Shop")
    bot = import_bot(workspace=workspace, text=MEMORY_BOT.format(slug="memory-bot"))
    publish_bot(bot=bot, user=None)
    with api_client(security_server, workspace) as api:
        created = api.post(
            f"/api/v1/bots/{bot.id}/channels",
            json={"kind": "web", "credentials": {"identity_secret": IDENTITY_SECRET}},
        )
    assert created.status_code == 201, created.text
    bot.web_channel_id = created.json()["id"]
    return bot


def signed(contact_id: str, secret: str = IDENTITY_SECRET) -> dict:
    return {"contact_id": contact_id, "contact_signature": sign(secret, contact_id)}


class Widget:
    """A browser's widget socket, as a script would drive it."""

    def __init__(self, ws):
        self.ws = ws

    async def send(self, **frame):
        await self.ws.send(json.dumps(frame))

    async def until(self, kind: str, timeout: float = 20) -> list[dict]:
        """Frames up to the first of type `kind`, or up to an error that ends the attempt."""
        import asyncio

        frames = []
        while True:
            frames.append(json.loads(await asyncio.wait_for(self.ws.recv(), timeout)))
            last = frames[-1]
            if last["type"] == kind or (last["type"] == "error" and last["code"] != "identity_not_verified"):
                return frames


class widget_socket:
    """`async with widget_socket(base, key, headers) as w`."""

    def __init__(self, base: str, public_key: str, headers: dict | None = None):
        self.url = base.replace("http://", "ws://") + f"/ws/chat/{public_key}/"
        self.headers = headers or new_address()

    async def __aenter__(self) -> Widget:
        self._cm = connect(self.url, additional_headers=self.headers, ping_interval=None)
        return Widget(await self._cm.__aenter__())

    async def __aexit__(self, *exc):
        await self._cm.__aexit__(*exc)
