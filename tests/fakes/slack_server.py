"""Slack's side, for tests (wire facts: ../shared/reference/slack.md).

`FakeSlack` is the Web API as the real `slack-sdk` client sees it at `SLACK_API_URL`:
`POST /api/<method>` with a Bearer token, JSON or form bodies, and Slack's answers — API errors as
HTTP 200 `{"ok": false, "error": ...}`, rate limits as 429 with `Retry-After`. It checks the token,
that the app is in the channel, and the Block Kit limits a real workspace enforces; it records
every call and keeps the messages as they now look (after updates). Failures are scripted with
`fail(...)`.

`signed(...)` signs a webhook body the way Slack signs its Events API and interactivity requests.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

from tests.fakes.server import FakeVendor, read_body

BLOCK_TYPES = {"section", "context", "actions", "divider", "header", "image", "rich_text", "markdown"}


@dataclass
class Failure:
    method: str
    status: int = 200  # 429 or 5xx: an HTTP failure; 200: an API error
    error: str = ""
    retry_after: int | None = None


class FakeSlack(FakeVendor):
    path_prefix = "/api"

    def __init__(self, *, token: str, team_id: str = "T0TEAM", bot_user_id: str = "U0BOT"):
        self.token, self.team_id, self.bot_user_id = token, team_id, bot_user_id
        self.calls: list[dict] = []
        self.messages: dict[str, dict] = {}  # ts -> the message as it looks now
        self.not_member: set[str] = set()  # channels the app was not invited to
        self._failures: list[Failure] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    # --- control -------------------------------------------------------------------------

    def fail(self, method: str, *, status: int = 200, error: str = "", retry_after: int | None = None, times=1):
        """The next `times` calls of `method` fail this way."""
        with self._lock:
            self._failures.extend(Failure(method, status, error, retry_after) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.messages.clear()
            self.not_member.clear()
            self._failures.clear()

    def calls_to(self, method: str, channel: str | None = None) -> list[dict]:
        return [
            c
            for c in list(self.calls)
            if c["method"] == method and c["ok"] and (channel is None or c["body"].get("channel") == channel)
        ]

    def in_channel(self, channel: str) -> list[dict]:
        """The messages in a channel as they look now, oldest first."""
        return sorted((m for m in list(self.messages.values()) if m["channel"] == channel), key=lambda m: m["ts"])

    # --- ASGI ------------------------------------------------------------------------------

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        method = scope["path"].removeprefix(self.path_prefix + "/")
        if headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return await self._answer(send, 200, {"ok": False, "error": "invalid_json"})
        else:
            body = dict(parse_qsl(raw.decode()))
            if isinstance(body.get("blocks"), str):
                body["blocks"] = json.loads(body["blocks"])
        call = {"method": method, "body": body, "ok": False, "time": time.monotonic()}
        self.calls.append(call)
        status, data, extra = self._handle(method, headers.get("authorization", ""), body)
        call["ok"] = status == 200 and data.get("ok", False)
        await self._answer(send, status, data, extra)

    async def _answer(self, send, status: int, data: dict, headers: list | None = None):
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), *(headers or [])],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(data).encode()})

    def _handle(self, method: str, authorization: str, body: dict) -> tuple[int, dict, list]:
        if not authorization:
            return 200, {"ok": False, "error": "not_authed"}, []
        if authorization != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}, []
        with self._lock:
            failure = next((f for f in self._failures if f.method == method), None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            if failure.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, [(b"retry-after", str(failure.retry_after).encode())]
            return failure.status, {"ok": False, "error": failure.error or "internal_error"}, []
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
        }.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, []
        return handler(body)

    def _auth_test(self, body: dict):
        return 200, {"ok": True, "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": "B0BOT"}, []

    def _content_error(self, body: dict) -> str:
        channel = body.get("channel")
        if not channel:
            return "channel_not_found"
        if channel in self.not_member:
            return "not_in_channel"
        text, blocks = body.get("text") or "", body.get("blocks")
        if not text and not blocks:
            return "no_text"
        if len(text) > 40_000:
            return "msg_too_long"
        if blocks is not None and block_problems(blocks):
            return "invalid_blocks"
        return ""

    def _post_message(self, body: dict):
        error = self._content_error(body)
        if error:
            return 200, {"ok": False, "error": error, **_block_errors(body)}, []
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {
            "type": "message",
            "channel": body["channel"],
            "ts": ts,
            "text": body.get("text") or "",
            "blocks": body.get("blocks") or [],
            "thread_ts": body.get("thread_ts"),
            "user": self.bot_user_id,
            "bot_id": "B0BOT",
            "edits": 0,
        }
        self.messages[ts] = message
        return 200, {"ok": True, "channel": body["channel"], "ts": ts, "message": message}, []

    def _update(self, body: dict):
        error = self._content_error(body)
        if error:
            return 200, {"ok": False, "error": error, **_block_errors(body)}, []
        message = self.messages.get(body.get("ts", ""))
        if message is None or message["channel"] != body["channel"]:
            return 200, {"ok": False, "error": "message_not_found"}, []
        message["text"] = body.get("text") or ""
        if "blocks" in body:  # like Slack: blocks left out of an update stay as they were
            message["blocks"] = body["blocks"] or []
        message["edits"] += 1
        return 200, {"ok": True, "channel": body["channel"], "ts": message["ts"], "text": message["text"]}, []


def _block_errors(body: dict) -> dict:
    problems = block_problems(body.get("blocks") or [])
    return {"errors": problems} if problems else {}


def block_problems(blocks) -> list[str]:
    """What Slack would refuse in a message's blocks (the limits of Block Kit)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems = []
    if len(blocks) > 50:
        problems.append("no more than 50 blocks")
    for n, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"[{n}] unknown block type {kind!r}")
            continue
        if len(block.get("block_id", "")) > 255:
            problems.append(f"[{n}] block_id longer than 255")
        if kind == "section":
            text = block.get("text") or {}
            if text.get("type") not in ("mrkdwn", "plain_text") or not 0 < len(text.get("text", "")) <= 3000:
                problems.append(f"[{n}] section text must be 1-3000 characters")
        if kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 10:
                problems.append(f"[{n}] context needs 1-10 elements")
        if kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                problems.append(f"[{n}] actions needs 1-25 elements")
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                problems.append(f"[{n}] action_id must be unique")
            for e in elements:
                text = e.get("text") or {}
                if e.get("type") != "button" or text.get("type") != "plain_text":
                    problems.append(f"[{n}] buttons need plain_text")
                elif not 0 < len(text.get("text", "")) <= 75:
                    problems.append(f"[{n}] button text must be 1-75 characters")
                if len(e.get("value", "")) > 2000 or len(e.get("action_id") or "") > 255:
                    problems.append(f"[{n}] button value or action_id too long")
    return problems


def signed(secret: str, body: bytes | str, *, timestamp: int | None = None, retry: int | None = None) -> dict:
    """The headers Slack sends with a webhook body it signed (`timestamp` defaults to now)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return headers
