"""Server-sent events for the LLM SDK's stream, split with bytes methods and parsed with orjson.

A streamed answer is one event per token. The SDK's own decoder walks each line through a regex
and a bytearray and decodes it with `json`: ~13 µs of CPU per token in a turn (bench/turn.py
profile), where this reader takes ~3. It keeps the SDK's stream (`openai.AsyncStream`: the
`[DONE]` marker, error events raised as `openai.APIError`, transport errors mapped to the SDK's
own) and replaces only the decoder, which is the SDK's extension point for it.

Fields as the event-stream format defines them: `data:` lines joined with newlines, `event:`,
comments and other fields ignored, lines ending in LF or CRLF (a lone CR ends no line here; no
server of the Chat Completions API sends one), and an event the body ends before its blank line
dropped, as the SDK's decoder does.

Chunks that only add text and arrive in the same read from the network are handed on as one
chunk carrying their text joined. A model writes a token every few tens of milliseconds, so a
server keeping up reads them one at a time and nothing changes; a server that fell behind (a
burst of messages at the same instant) finds many waiting, and each one it hands on costs the
SDK's stream, the gateway, the hold-back and the engine ~10 µs (bench/turn.py). So the cost of
a reply falls as the load rises, instead of every token waiting its turn through every layer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx2
import openai
import orjson

# After `[DONE]` the body has only its end left; a server that keeps it open longer is not waited for.
_END_WAIT_S = 0.1


class Event:
    __slots__ = ("data", "event", "parsed")

    def __init__(self, event: str | None, data: str):
        self.event = event
        self.data = data
        self.parsed = None  # `data` once parsed, or what the chunks merged into it add up to

    def json(self):
        return orjson.loads(self.data) if self.parsed is None else self.parsed


def _text_only(event: Event) -> str | None:
    """The text of a Chat Completions chunk that does nothing but add text (no finish, usage,
    tool call, refusal or error); None for any other event."""
    if event.event is not None or not event.data.startswith("{"):
        return None
    try:
        chunk = event.parsed = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None  # left for the SDK to report
    if not isinstance(chunk, dict) or chunk.get("usage") is not None or "error" in chunk:
        return None
    choices = chunk.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        return None
    choice = choices[0]
    delta = choice.get("delta")
    if choice.get("index", 0) != 0 or choice.get("finish_reason") is not None or choice.get("logprobs") is not None:
        return None
    if not isinstance(delta, dict) or any(v is not None for k, v in delta.items() if k not in ("content", "role")):
        return None
    content = delta.get("content")
    return content if isinstance(content, str) else None


def _merged(events: list[Event]) -> list[Event]:
    """Each run of text-only chunks as one: the run's first chunk, carrying the run's text."""
    out: list[Event] = []
    run: list[tuple[Event, str]] = []

    def end_run():
        if len(run) > 1:
            run[0][0].parsed["choices"][0]["delta"]["content"] = "".join(text for _, text in run)
        if run:
            out.append(run[0][0])
        run.clear()

    for event in events:
        text = _text_only(event)
        if text is None:
            end_run()
            out.append(event)
        else:
            run.append((event, text))
    end_run()
    return out


class Decoder:
    async def aiter_bytes(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
        pending = b""
        event: str | None = None
        data: list[str] = []
        async for chunk in chunks:
            lines = (pending + chunk if pending else chunk).split(b"\n")
            pending = lines.pop()  # the line still arriving
            ready: list[Event] = []
            for line in lines:
                if line.endswith(b"\r"):
                    line = line[:-1]
                if not line:  # a blank line ends the event
                    if data or event:
                        ready.append(Event(event, "\n".join(data)))
                    event, data = None, []
                elif line.startswith(b"data:"):
                    data.append(line[6:].decode() if line.startswith(b"data: ") else line[5:].decode())
                elif line.startswith(b"event:"):
                    value = line[6:].decode()
                    event = value[1:] if value.startswith(" ") else value
            for ready_event in _merged(ready) if len(ready) > 1 else ready:
                if ready_event.data.startswith("[DONE]"):
                    await _read_to_end(chunks)
                yield ready_event


async def _read_to_end(chunks: AsyncIterator[bytes]) -> None:
    """The rest of the body after `[DONE]` (its closing chunk), read here so that the response is
    closed when the SDK's stream sees `[DONE]`. Otherwise the SDK drains it under an anyio cancel
    scope, ~50 µs a call (4,000 calls against the fake, the event loop's CPU). Nothing after `[DONE]` matters: a failure to
    read it only means the connection is not reused."""
    with contextlib.suppress(TimeoutError, httpx2.RequestError, httpx2.StreamError):
        async with asyncio.timeout(_END_WAIT_S):
            async for _ in chunks:
                pass


class Stream(openai.AsyncStream[object]):
    """`openai.AsyncStream` with this module's decoder; chunks come as dicts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoder = Decoder()  # read once the stream is iterated, not before
