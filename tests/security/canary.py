"""Internal services an attacker would like Switchboard to call for them, and the bots that call out.

A `Canary` is a real HTTP server on loopback that records every request it gets: if a guard
lets an attack through, the request lands here and the test sees it. It also answers with
redirects (`/redirect?to=…&code=…`), slow bodies (`/drip?seconds=…`) and echoes (`/echo`).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import yaml
from asgiref.sync import async_to_sync

from bots.models import Bot, Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from tests.fakes.server import ThreadedServer
from tests.security.conftest import widget_socket


class Canary:
    def __init__(self):
        self.requests: list[dict] = []
        self.server = ThreadedServer(self.app)

    def start(self) -> Canary:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str | None = None) -> list[dict]:
        return [r for r in self.requests if path is None or r["path"] == path]

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        record = {
            "path": scope["path"],
            "target": _request_target(scope),
            "method": scope["method"],
            "headers": headers,
            "body": body.decode(),
        }
        self.requests.append(record)
        if scope["path"] == "/redirect":
            code = int(query.get("code", "302"))
            await _answer(send, code, b"", [(b"location", query["to"].encode())])
        elif scope["path"] == "/drip":
            # Each byte comes well within any per-read timeout; the whole takes `seconds`.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            for _ in range(int(float(query.get("seconds", "10")) / 0.2)):
                await send({"type": "http.response.body", "body": b".", "more_body": True})
                await asyncio.sleep(0.2)
            await send({"type": "http.response.body", "body": b""})
        else:
            await _answer(send, 200, json.dumps({"internal": "secret data", **record}).encode())


def _request_target(scope) -> str:
    """The path and query exactly as they came on the request line, still percent-encoded."""
    query = scope["query_string"].decode()
    return scope["raw_path"].decode() + (f"?{query}" if query else "")


async def _answer(send, status: int, body: bytes, headers=()):
    headers = [(b"content-type", b"application/json"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


FETCHER = """
switchboard: 1
name: Page fetcher
slug: {slug}
greeting: Hello!
tools:
  - name: fetch
    url: "{url}"
    parameters: {{type: object, properties: {{}}}}
    timeout_s: 3
flows:
  - name: main
    is_entry: true
    graph:
      entry: ask
      nodes:
        - {{id: ask, kind: ask, slot: target, type: text, prompt: "Which page?", next: call}}
        - id: call
          kind: tool
          tool: fetch
          result_slot: page
          next: fetched
          on_error: failed
        - {{id: fetched, kind: message, text: "Fetched it.", next: again}}
        - {{id: failed, kind: message, text: "Could not fetch that page.", next: again}}
        - {{id: again, kind: set, clear: [target], next: ask}}
"""


def publish(workspace: Workspace, text: str) -> Bot:
    bot = import_bot(workspace=workspace, text=text)
    publish_bot(bot=bot, user=None)
    return bot


def fetcher_bot(workspace: Workspace, url: str, slug: str = "fetcher") -> Bot:
    """A builder's "fetch this page" tool calling `url`, published. (A visitor's words reach a
    URL only percent-encoded, so the address is the builder's to choose.)"""
    return publish(workspace, FETCHER.format(slug=slug, url=url))


async def _chat(base: str, bot: Bot, texts: list[str]) -> list[list[dict]]:
    replies = []
    async with widget_socket(base, bot.public_key) as widget:
        await widget.send(type="start")
        await widget.until("done")
        for text in texts:
            await widget.send(type="message", text=text)
            replies.append(await widget.until("done"))
    return replies


def chat(base: str, bot: Bot, *texts: str) -> list[list[dict]]:
    """Say each text on the bot's widget over the running server; the frames of each reply."""
    return async_to_sync(_chat)(base, bot, list(texts))


def said(frames: list[dict]) -> str:
    return " ".join(f["text"] for f in frames if f["type"] == "message")


def tool_results(bot: Bot) -> list[str]:
    """What the bot's tools answered, in order, as the conversation's traces recorded them."""
    from conversations.models import TurnTrace

    traces = TurnTrace.objects.filter(conversation__bot=bot).order_by("conversation_id", "turn", "id")
    return [tool["result"] for trace in traces for tool in trace.debug.get("tools", [])]


FLOW = [
    {"id": "ask", "kind": "ask", "slot": "note", "type": "text", "prompt": "Your note?", "next": "call"},
    {
        "id": "call",
        "kind": "tool",
        "tool": "call",
        "arguments": {"note": "{{ note }}"},
        "next": "done",
        "on_error": "failed",
    },
    {"id": "done", "kind": "message", "text": "Sent."},
    {"id": "failed", "kind": "message", "text": "That did not work."},
]


def tool_bot(workspace, *, url, method="GET", headers=None, body="", secrets=(), timeout=5):
    """A bot whose flow asks for a note and calls one tool with it, published."""
    tool = {
        "name": "call",
        "method": method,
        "url": url,
        "headers": headers or {},
        "body": body,
        "secrets": list(secrets),
        "parameters": {"type": "object", "properties": {"note": {"type": "string"}}},
        "timeout_s": timeout,
    }
    document = {
        "switchboard": 1,
        "name": "Orders",
        "slug": "orders",
        "greeting": "Hello!",
        "tools": [tool],
        "flows": [{"name": "main", "is_entry": True, "graph": {"entry": "ask", "nodes": FLOW}}],
    }
    return publish(workspace, yaml.safe_dump(document))
