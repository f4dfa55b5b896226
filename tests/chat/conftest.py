"""Web chat fixtures: published bots in real (committed) rows, and WebSocket / HTTP helpers
against the real ASGI server."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect

from bots.models import Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from tests.conftest import vendor_env
from tests.processes import start_asgi
from tests.services import subprocess_env

BOT_YAML = """
switchboard: 1
name: {name}
slug: {slug}
greeting: Hello from {name}!
widget:
  title: {name} help
  primary_color: "#0f766e"
  allowed_origins: {origins}
prompts:
  - name: answer
    system: You are a helpful assistant.
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {{id: answer, kind: llm, prompt: answer}}
"""


def make_bot(workspace_slug: str, *, name: str = "Help Bot", origins: list[str] | None = None):
    workspace, _ = Workspace.objects.get_or_create(slug=workspace_slug, defaults={"name": workspace_slug.title()})
    text = BOT_YAML.format(name=name, slug=name.lower().replace(" ", "-"), origins=json.dumps(origins or []))
    bot = import_bot(workspace=workspace, text=text)
    publish_bot(bot=bot, user=None)
    return bot


@pytest.fixture
def bot(transactional_db, fake_openai):
    return make_bot("acme")


@pytest.fixture
def api_key(bot):
    _, raw = create_api_key(workspace=bot.workspace, name="tests", scopes=["conversations:read", "conversations:write"])
    return raw


def ws_url(base: str, public_key: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/chat/{public_key}/"


class Chat:
    """A WebSocket chat client speaking the widget's protocol."""

    def __init__(self, ws):
        self.ws = ws

    async def send(self, **frame):
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 20) -> dict:
        import asyncio

        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, kind: str, timeout: float = 20) -> list[dict]:
        """Frames up to and including the first of type `kind`."""
        frames = []
        while True:
            frames.append(await self.recv(timeout))
            if frames[-1]["type"] == kind:
                return frames


def open_chat(base: str, public_key: str, *, client: type[Chat] = Chat, **headers):
    """`async with open_chat(...) as chat`: a widget socket, spoken through `client`."""
    return _ChatContext(ws_url(base, public_key), headers, client)


class _ChatContext:
    def __init__(self, url, headers, client):
        self.url, self.headers, self.client = url, headers, client

    async def __aenter__(self) -> Chat:
        self._cm = connect(self.url, additional_headers=self.headers, ping_interval=None)
        return self.client(await self._cm.__aenter__())

    async def __aexit__(self, *exc):
        await self._cm.__aexit__(*exc)


@pytest.fixture(scope="module")
def strict_server(django_db_setup, django_db_blocker, fake_openai_server):
    """A second ASGI server with tiny chat limits, so limits are hit in a few frames."""
    env = subprocess_env(
        **vendor_env(fake_openai_server),
        CHAT_CONNECTION_MESSAGES_PER_MINUTE="3",
        CHAT_IP_MESSAGES_PER_MINUTE="5",
        CHAT_IP_CONNECTIONS_PER_MINUTE="100",
    )
    proc, base = start_asgi(env)
    yield base
    proc.stop()
