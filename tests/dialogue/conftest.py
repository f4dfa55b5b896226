"""Fixtures for whole conversations: a workspace, conversations, a tool server, turn helpers."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync

from bots import demo
from bots.models import Bot, Workspace
from conversations import services
from dialogue.db import close_connections
from dialogue.events import Inbound
from dialogue.state import redis_client
from dialogue.turn import run_turn
from knowledge.models import KnowledgeBase
from knowledge.services import document_add_text, document_ingest
from tests.fakes.server import ThreadedServer

ORDERS = {"1001": {"status": "shipped", "eta": "arrives tomorrow"}, "1002": {"status": "being packed", "eta": ""}}


class ToolServer:
    """A tiny order API the bots' tools call; it records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.server = ThreadedServer(self.app)

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append({"path": scope["path"], "headers": headers, "body": body.decode()})
        order = ORDERS.get(scope["path"].rsplit("/", 1)[-1])
        if scope["path"].startswith("/broken"):
            status, payload = 500, {"error": "down"}
        elif order is None:
            status, payload = 404, {"error": "no such order"}
        else:
            status, payload = 200, {"order_id": scope["path"].rsplit("/", 1)[-1], **order}
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


@pytest.fixture(scope="session")
def tool_server():
    ts = ToolServer()
    ts.server.start()
    yield ts
    ts.server.stop()


@pytest.fixture
def workspace(db):
    return Workspace.objects.create(
        name="Acme", slug="acme", tool_allowed_hosts=["127.0.0.1"], allow_private_networks=True
    )


@pytest.fixture
def acme_bot(workspace):
    return Bot.objects.create(workspace=workspace, name="Acme Support", slug="acme-support")


@pytest.fixture(scope="session", autouse=True)
def _close_dialogue_connections(django_db_setup):
    """The turn's ORM threads keep their connections; the test database cannot be dropped under them."""
    yield
    close_connections()


@pytest.fixture(autouse=True)
def _fresh_breakers():
    async def clear():
        client = redis_client()
        keys = [k async for k in client.scan_iter("sb:breaker:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    async_to_sync(clear)()


@pytest.fixture
def help_center(workspace, settings):
    """A knowledge base searched by full text (no embeddings), with two articles."""
    kb = KnowledgeBase.objects.create(workspace=workspace, name=demo.KNOWLEDGE_BASE, embedding_provider="none")
    for title, text in [
        ("Returns policy", "You can return any item within 30 days of delivery for a full refund."),
        ("Shipping times", "Standard shipping takes 3 to 5 business days. Express shipping takes 1 day."),
    ]:
        document_ingest(document_add_text(kb=kb, title=title, text=text).pk)
    return kb


def demo_snapshot(tool_server, kb=None, **changes):
    """The demo bot, its order tool pointed at the local tool server."""
    snapshot = demo.definition(bot_id=1)
    tool = snapshot.tools[0].model_copy(update={"url": tool_server.server.base_url + "/orders/{{ order_id }}"})
    update = {"tools": [tool], **changes}
    if kb is not None:
        update["knowledge_bases"] = [{"id": kb.id, "name": kb.name}]
    return snapshot.model_copy(update=update)


class Talk:
    """Drives a stored conversation through `run_turn`, as a channel does."""

    def __init__(self, bot, snapshot, *, mode="chat", contact_id="", channel="web"):
        self.conversation = services.conversation_start(bot=bot, channel=channel, contact_id=contact_id)
        self.snapshot = snapshot
        self.mode = mode

    def send(self, inbound) -> list:
        if isinstance(inbound, str):
            inbound = Inbound(kind="text", text=inbound)

        async def go():
            try:
                return [e async for e in run_turn(self.conversation, self.snapshot, inbound, mode=self.mode)]
            finally:
                await redis_client().aclose()

        return async_to_sync(go)()

    def say(self, text: str) -> str:
        return " | ".join(e.text for e in self.send(text) if e.type == "message")

    def start(self) -> str:
        events = self.send(Inbound(kind="event", event="conversation_started"))
        return " | ".join(e.text for e in events if e.type == "message")

    def refresh(self):
        self.conversation.refresh_from_db()
        return self.conversation


def first(events, kind):
    return next(e for e in events if e.type == kind)


__all__ = ["Talk", "demo_snapshot", "first", "asyncio"]
