"""The LLM gateway: one streaming call over the `openai` SDK, with a fallback chain.

For each model of the chain (`prompt.model`, then `prompt.fallback_models`): skip it if its
circuit breaker is open; otherwise try it, retrying 429 / 5xx / timeouts / dropped connections
with exponential backoff and jitter (honouring `retry-after`, capped). The first model that
answers streams its text; if every model fails, `LlmUnavailable` tells the caller to answer
some other way (knowledge extract or a canned apology) — an outage never reaches the user as
an error. Every attempt is reported to `record` (one `LlmCall` row each).

The SDK's own retries are off (`max_retries=0`): this loop owns retries so that it can fall
back to the next model instead of waiting out the SDK's backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import httpx2
import openai
import orjson
from django.conf import settings

from config import telemetry, tls
from dialogue import breaker, randomness, sse, tokens

ATTEMPTS_PER_MODEL = 2
BACKOFF_BASE_S = 0.2
MAX_RETRY_AFTER_S = 2.0
# Vendor connections stay open this long between requests (httpx's default is 5 s): a caller takes
# longer than that to answer, and a new TLS connection per turn adds round trips to its first byte.
KEEPALIVE_S = 50.0
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, openai.APITimeoutError)


class LlmUnavailable(Exception):
    def __init__(self, message: str, *, partial: bool = False):
        super().__init__(message)
        self.partial = partial  # some text was already streamed before the failure


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it


@dataclass
class Completion:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str = ""


def configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


class _Connection(NamedTuple):
    settings: tuple  # what the client was made with: a change makes a new one
    client: openai.AsyncOpenAI
    closer: asyncio.Task  # closes the client when its loop ends
    # The endpoint as an absolute URL, made once: given the path, the SDK parses it and joins it
    # to its base URL on every request (~27 µs of a call's CPU).
    chat_url: str


_connections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → _Connection
_last_request: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → monotonic time


def _connection() -> _Connection:
    """The loop's client. Its HTTP transport is aiohttp (the SDK's `DefaultAioHttpClient`): the
    default httpx pool checks every pooled connection on each request, so with a thousand
    streams open at once a request cost milliseconds of CPU before it was sent (bench/turn.py)."""
    loop = asyncio.get_running_loop()
    key = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.LLM_TIMEOUT_S)
    cached = _connections.get(loop)
    if cached is not None and cached.settings == key:
        return cached
    if cached is not None:
        cached.closer.cancel()  # the settings changed: the old client is closed
    timeout = float(settings.LLM_TIMEOUT_S)
    client = openai.AsyncOpenAI(
        api_key=key[0],
        base_url=key[1],
        max_retries=0,
        timeout=timeout,
        http_client=openai.DefaultAioHttpClient(
            timeout=timeout,
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=KEEPALIVE_S),
            verify=tls.for_httpx2(),
        ),
    )
    # Held here: the loop itself keeps only a weak reference to its tasks.
    made = _connections[loop] = _Connection(
        key, client, loop.create_task(_close_with_loop(client)), f"{client.base_url}chat/completions"
    )
    return made


def warm_up_due(last_request: weakref.WeakKeyDictionary) -> bool:
    """Should this event loop open a connection to a vendor ahead of need? Not when it sent that
    vendor a request lately (`last_request`: loop → monotonic time); when it should, the warm-up
    counts as that request."""
    loop = asyncio.get_running_loop()
    last = last_request.get(loop)
    if last is not None and time.monotonic() - last < KEEPALIVE_S / 2:
        return False
    last_request[loop] = time.monotonic()
    return True


async def warm() -> None:
    """Open a connection to the LLM host now unless this event loop sent a request lately, so a
    caller's first question does not also wait for a TCP and TLS handshake (a call starts this).

    A cheap authenticated request (the model list); whatever it answers is ignored: a host that
    is down is the turn's own request's to meet, with its retries and fallbacks."""
    if not configured() or not warm_up_due(_last_request):
        return
    with contextlib.suppress(openai.OpenAIError):
        await _connection().client.get("/models", cast_to=object, options={"security": {"bearer_auth": True}})


async def _close_with_loop(client: openai.AsyncOpenAI) -> None:
    # Lives as long as its loop: asyncio.run and asgiref's async_to_sync cancel the tasks left
    # when their loop ends, and the client's connections are closed then, not left to the GC.
    try:
        await asyncio.Event().wait()
    finally:
        await client.close()


def _retry_delay(exc: Exception, attempt: int) -> float:
    response = getattr(exc, "response", None)
    if response is not None:
        header = response.headers.get("retry-after")
        try:
            if header is not None:
                return min(float(header), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    return BACKOFF_BASE_S * (2**attempt) * (0.5 + random.random() / 2)


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'status_code', '') or ''}".strip(": ")[:300]


class Gateway:
    def __init__(self, record: Callable[[dict], None], breakers: dict | None = None):
        self.record = telemetry.llm_recorder(record)  # one dict per attempt (LlmCall fields); also a span
        self.breakers = breakers  # a breaker.reading taken as the turn began, used for each model's first call

    async def stream(
        self,
        messages: list[dict],
        *,
        models: list[str],
        temperature: float = 0.3,
        max_tokens: int = 400,
        tools: list[dict] | None = None,
        json_mode: bool = False,
        purpose: str = "reply",
    ) -> AsyncIterator[str | Completion]:
        """Yield text deltas, then one `Completion`; raise `LlmUnavailable` if no model answers."""
        if not configured():
            raise LlmUnavailable("no LLM is configured")
        chain = [m for m in dict.fromkeys(models) if m]
        for position, model in enumerate(chain):
            last_model = position == len(chain) - 1
            permit = await breaker.allow(model, self.breakers)
            if permit is None:
                self.record({"model": model, "purpose": purpose, "outcome": "breaker_open"})
                continue
            for attempt in range(ATTEMPTS_PER_MODEL):
                streamed: list[str] = []
                started = time.perf_counter()
                call = {"model": model, "purpose": purpose}
                try:
                    async for item in self._once(model, messages, temperature, max_tokens, tools, json_mode, call):
                        if isinstance(item, str):
                            if not streamed:
                                call["ttft_ms"] = (time.perf_counter() - started) * 1000
                            streamed.append(item)
                        yield item
                    call.update(latency_ms=(time.perf_counter() - started) * 1000, outcome="ok")
                    self.record(call)
                    await breaker.record_success(model, permit)
                    return
                except (asyncio.CancelledError, GeneratorExit):
                    # The reply is no longer wanted (barge-in, a speculative reply dropped): its
                    # tokens are spent all the same, so the attempt is recorded, counted as OpenAI would.
                    call.update(latency_ms=(time.perf_counter() - started) * 1000, outcome="cancelled")
                    call.setdefault("input_tokens", tokens.count_messages(messages, model))
                    call.setdefault("output_tokens", tokens.count("".join(streamed), model))
                    self.record(call)
                    raise
                except Exception as exc:  # any failure falls back: an outage never reaches the user
                    retryable = isinstance(exc, RETRYABLE)
                    final = streamed or not retryable or attempt == ATTEMPTS_PER_MODEL - 1
                    outcome = "error" if (last_model and final) or streamed else "fell_back"
                    call.update(latency_ms=(time.perf_counter() - started) * 1000, outcome=outcome)
                    call["error"] = _error_text(exc)
                    self.record(call)
                    if streamed:
                        # Text already reached the user: a second model would start over mid-sentence.
                        await breaker.record_failure(model)
                        raise LlmUnavailable(str(exc), partial=True)
                    if final:
                        if retryable:
                            await breaker.record_failure(model)
                        break
                    await asyncio.sleep(_retry_delay(exc, attempt))
        raise LlmUnavailable("every model of the chain failed or is switched off by its breaker")

    async def _once(self, model, messages, temperature, max_tokens, tools, json_mode, call):
        kwargs: dict = {
            "model": model,
            "messages": messages,
            "temperature": temperature,
            "max_completion_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            kwargs["tools"] = tools
            kwargs["parallel_tool_calls"] = True
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        _last_request[asyncio.get_running_loop()] = time.monotonic()
        # `client.post` rather than `chat.completions.create`, with chunks left as dicts: `create`
        # walks every message through the SDK's TypedDict transform and builds a pydantic model
        # per streamed chunk, which profiling showed to be most of a turn's CPU (~60 µs a chunk,
        # one chunk a token). Same endpoint, auth and error events; the events split by `dialogue.sse`.
        # The body goes serialised: the SDK sends `content` as it is, and orjson writes a turn's
        # prompt ~30 times faster than the `json` module it would use.
        connection = _connection()
        stream = await connection.client.post(
            connection.chat_url,
            content=orjson.dumps(kwargs, option=orjson.OPT_NON_STR_KEYS),
            cast_to=object,
            stream=True,
            stream_cls=sse.Stream,
            # The SDK would draw this key with `uuid4` on every request (see `dialogue.randomness`).
            options={"security": {"bearer_auth": True}, "idempotency_key": randomness.token_hex(16)},
        )
        text: list[str] = []
        calls: dict[int, dict] = {}
        async for chunk in stream:
            usage = chunk.get("usage")
            if usage:
                call["input_tokens"] = usage.get("prompt_tokens", 0)
                call["output_tokens"] = usage.get("completion_tokens", 0)
            choices = chunk.get("choices")
            if not choices:
                continue
            delta = choices[0].get("delta") or {}
            content = delta.get("content")
            if content:
                text.append(content)
                yield content
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(tc.get("index", 0), {"id": "", "name": "", "arguments": ""})
                slot["id"] = tc.get("id") or slot["id"]
                function = tc.get("function") or {}
                slot["name"] = function.get("name") or slot["name"]
                slot["arguments"] += function.get("arguments") or ""
        if "input_tokens" not in call:  # the server sent no usage: count as OpenAI would
            call["input_tokens"] = tokens.count_messages(messages, model)
            call["output_tokens"] = tokens.count("".join(text), model)
        yield Completion(
            text="".join(text),
            tool_calls=[ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"]) for i, c in sorted(calls.items())],
            model=model,
        )

    async def complete(self, messages: list[dict], **kwargs) -> Completion:
        """The whole answer at once (classification, summaries)."""
        result = Completion()
        async for item in self.stream(messages, **kwargs):
            if isinstance(item, Completion):
                result = item
        return result
