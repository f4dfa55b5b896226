"""Inbox fixtures: a published bot that hands off when asked for a person, agents with roles,
and clients acting as people: the customer on the widget socket, agents on the inbox socket
and the inbox's HTTP actions, all against the real ASGI server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from websockets.asyncio.client import connect

from bots.models import Membership, Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from tests.chat.conftest import Chat, open_chat

BOT_YAML = """
switchboard: 1
name: {name}
slug: {slug}
greeting: Hello from {name}!
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


def make_bot(workspace_slug: str, name: str = "Help Bot"):
    workspace, _ = Workspace.objects.get_or_create(slug=workspace_slug, defaults={"name": workspace_slug.title()})
    bot = import_bot(workspace=workspace, text=BOT_YAML.format(name=name, slug=name.lower().replace(" ", "-")))
    publish_bot(bot=bot, user=None)
    return bot


def make_agent(workspace, username: str, *, role=Membership.Role.AGENT, first_name: str = ""):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", "pw-for-tests-1", first_name=first_name
    )
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


def session_cookie(user) -> str:
    """The session cookie a login would set."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _session_cookie(user) -> str:
    try:
        return session_cookie(user)
    finally:
        connection.close()  # a helper thread's connection, so the test database can be dropped


@pytest.fixture
def bot(transactional_db, fake_openai):
    return make_bot("acme")


@pytest.fixture
def ana(bot):
    return make_agent(bot.workspace, "ana", first_name="Ana")


@pytest.fixture
def ben(bot):
    return make_agent(bot.workspace, "ben", first_name="Ben")


class Customer(Chat):
    """The widget's side of a conversation, with the steps the inbox tests repeat."""

    def __init__(self, ws):
        super().__init__(ws)
        self.ready: dict = {}

    async def start(self):
        await self.send(type="start")
        self.ready = await self.recv()
        await self.until("done")
        return self.ready

    async def say(self, text: str) -> list[dict]:
        await self.send(type="message", text=text)
        return await self.until("done")

    async def answered(self, text: str, kind: str = "bot_message") -> tuple[list[dict], dict]:
        """Say `text`: the turn's own frames, and the first `kind` frame the inbox sends because of
        it (from another path, so it may arrive before or after the turn's `done`)."""
        frames = await self.say(text)
        sent = [f for f in frames if f["type"] == kind]
        return [f for f in frames if f["type"] != kind], sent[0] if sent else await self.recv()


class Agent:
    """An agent: the inbox socket and the inbox's HTTP actions, with their session."""

    def __init__(self, base: str, user):
        self.base, self.user = base, user
        self.ws = None
        self.csrf = ""

    async def __aenter__(self):
        self.cookie = await sync_to_async(_session_cookie)(self.user)
        self.http = httpx.AsyncClient(base_url=self.base, cookies={"sessionid": self.cookie}, timeout=20)
        page = await self.http.get("/inbox/")
        self.csrf = page.cookies.get("csrftoken") or self.http.cookies.get("csrftoken", "")
        return self

    async def __aexit__(self, *exc):
        if self.ws is not None:
            await self.ws.close()
        await self.http.aclose()

    async def connect(self) -> dict:
        url = self.base.replace("http://", "ws://") + "/ws/inbox/"
        headers = {"Cookie": f"sessionid={self.cookie}", "Origin": self.base}
        self.ws = await connect(url, additional_headers=headers, ping_interval=None)
        return await self.recv()

    async def recv(self, timeout: float = 20) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, match, timeout: float = 20) -> dict:
        """The first frame for which `match(frame)` is true."""
        while True:
            frame = await self.recv(timeout)
            if match(frame):
                return frame

    async def post(self, path: str, **data) -> httpx.Response:
        return await self.http.post(
            f"/inbox/{path}", json=data, headers={"X-CSRFToken": self.csrf, "Referer": self.base + "/inbox/"}
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(f"/inbox/{path}")


def customer(base: str, public_key: str):
    return open_chat(base, public_key, client=Customer)
