"""A local OpenAI-compatible server, used through the real `openai` SDK (wire facts:
../shared/reference/openai.md).

Chat completions with and without streaming, tool calls streamed in fragments, JSON mode,
embeddings, the model list, and scripted faults. Each request records the client address of
its connection, so a test can tell a reused connection from a new one. Tests script replies with `fake.script(...)`; with nothing
scripted the fake answers deterministically (JSON mode: `{}`; otherwise a sentence that
quotes the last user message and the first line of any retrieved context), so conversations
can run without a script.

Embeddings are a hashing trick over words: texts sharing words get close vectors, which is
enough for retrieval tests to mean something without a model.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeVendor, read_body


@dataclass
class Reply:
    """One scripted answer. `model` restricts it to requests for that model."""

    text: str = ""
    tool_calls: list[dict] = field(default_factory=list)  # [{"name": ..., "arguments": {...}}]
    status: int = 200  # non-200: an error response with the OpenAI error body
    retry_after: float | None = None
    hang: float = 0.0  # seconds to wait before answering (past the client's timeout = a hang)
    cut_after: int | None = None  # streaming: drop the connection after this many content chunks
    model: str | None = None
    prompt_tokens: int | None = None


WORD = re.compile(r"[a-z0-9]+")
MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "text-embedding-3-large")  # GET /v1/models


def fake_embedding(text: str, dim: int = 1536) -> list[float]:
    vec = [0.0] * dim
    for word in WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        vec[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class FakeOpenAI(FakeVendor):
    path_prefix = "/v1"

    def __init__(self, *, ttft: float = 0.0, token_interval: float = 0.0):
        self.ttft = ttft  # delay before the first streamed token (and before non-stream replies)
        self.token_interval = token_interval  # delay between streamed chunks
        self.requests: list[dict] = []
        # A stand-in model for behaviour tests: request body -> Reply, used when nothing is scripted.
        self.responder = None
        self._script: list[Reply] = []
        self._failing_models: dict[str, int] = {}  # model -> HTTP status while it is "down"
        self._lock = threading.Lock()
        super().__init__()

    # --- control -------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def model_down(self, model: str, status: int = 500) -> None:
        with self._lock:
            self._failing_models[model] = status

    def model_up(self, model: str) -> None:
        with self._lock:
            self._failing_models.pop(model, None)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._failing_models.clear()
            self.requests.clear()
            self.ttft = 0.0
            self.token_interval = 0.0
            self.responder = None

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next_reply(self, body: dict) -> Reply:
        model = body.get("model")
        with self._lock:
            if model in self._failing_models:
                return Reply(status=self._failing_models[model])
            for i, reply in enumerate(self._script):
                if reply.model in (None, model):
                    return self._script.pop(i)
        if self.responder is not None:
            return self.responder(body)
        return self._default_reply(body)

    @staticmethod
    def _default_reply(body: dict) -> Reply:
        if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
            return Reply(text="{}")
        messages = body.get("messages") or []
        last_user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        context = ""
        for m in messages:
            content = m.get("content") or ""
            if m.get("role") == "system" and "[1]" in content:
                context = content.split("[1]", 1)[1].strip().splitlines()[0][:200]
        question = last_user.strip()[:200]
        text = f"You asked: {question}" + ("" if question.endswith(("?", "!", ".")) else ".")
        if context:
            text += f" According to our documents: {context} [1]"
        return Reply(text=text)

    # --- ASGI ------------------------------------------------------------------------------
    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return await self._error(send, 400, "invalid JSON body")
        self.requests.append(
            {"path": scope["path"], "body": payload, "time": time.monotonic(), "connection": scope.get("client")}
        )
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if not auth.startswith(b"Bearer "):
            return await self._error(send, 401, "missing API key", code="invalid_api_key")
        if scope["path"].endswith("/embeddings"):
            return await self._embeddings(send, payload)
        if scope["path"].endswith("/chat/completions"):
            return await self._chat(send, payload)
        if scope["path"].endswith("/models") and scope["method"] == "GET":
            models = [{"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in MODELS]
            return await self._json(send, 200, {"object": "list", "data": models})
        return await self._error(send, 404, f"unknown path {scope['path']}")

    async def _json(self, send, status: int, data: dict, headers: list | None = None):
        raw = json.dumps(data).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *(headers or [])],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    async def _error(self, send, status: int, message: str, code: str | None = None, headers=None):
        kind = (
            "rate_limit_exceeded" if status == 429 else ("server_error" if status >= 500 else "invalid_request_error")
        )
        await self._json(
            send, status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers
        )

    async def _embeddings(self, send, payload: dict):
        inputs = payload.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dim = int(payload.get("dimensions") or 1536)
        data = []
        for i, text in enumerate(inputs):
            vec = fake_embedding(str(text), dim)
            if payload.get("encoding_format") == "base64":
                emb: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(len(WORD.findall(str(t))) for t in inputs)
        await self._json(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": payload.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    async def _chat(self, send, payload: dict):
        reply = self._next_reply(payload)
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.status != 200:
            headers = [(b"retry-after", str(reply.retry_after).encode())] if reply.retry_after is not None else []
            return await self._error(send, reply.status, f"scripted failure {reply.status}", headers=headers)
        if self.ttft:
            await asyncio.sleep(self.ttft)
        model = payload.get("model", "gpt-x")
        prompt_tokens = reply.prompt_tokens or sum(
            len(WORD.findall(str(m.get("content") or ""))) for m in payload.get("messages", [])
        )
        pieces = re.findall(r"\S+\s*", reply.text) if reply.text else []
        completion_tokens = len(pieces) + len(reply.tool_calls)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish = "tool_calls" if reply.tool_calls else "stop"
        calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
            }
            for i, c in enumerate(reply.tool_calls)
        ]
        if not payload.get("stream"):
            message = {"role": "assistant", "content": reply.text or None}
            if calls:
                message["tool_calls"] = calls
            return await self._json(
                send,
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                },
            )

        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )

        async def event(data: dict | str):
            raw = data if isinstance(data, str) else json.dumps(data)
            await send({"type": "http.response.body", "body": f"data: {raw}\n\n".encode(), "more_body": True})

        def chunk(delta: dict, finish_reason=None) -> dict:
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
                "usage": None,
            }

        await event(chunk({"role": "assistant", "content": ""}))
        for n, piece in enumerate(pieces):
            if reply.cut_after is not None and n >= reply.cut_after:
                # Mid-stream failure as a real server shows it: an error event, then the end.
                await event({"error": {"message": "stream interrupted", "type": "server_error", "code": None}})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if n and self.token_interval:
                await asyncio.sleep(self.token_interval)
            await event(chunk({"content": piece}))
        for i, call in enumerate(calls):
            args = call["function"]["arguments"]
            await event(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            half = len(args) // 2  # arguments arrive in fragments, as from the real API
            for part in (args[:half], args[half:]):
                await event(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
        await event(chunk({}, finish))
        if (payload.get("stream_options") or {}).get("include_usage"):
            await event(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await event("[DONE]")
        await send({"type": "http.response.body", "body": b"", "more_body": False})
