"""The LLM stream's event reader (`dialogue.sse`) reads what the SDK's own decoder reads,
however the network cuts the bytes; the streams of the other tests go through it end to end."""

from __future__ import annotations

import asyncio

import orjson
from hypothesis import given
from hypothesis import strategies as st
from openai._streaming import SSEDecoder  # the SDK's decoder, which dialogue.sse replaces

from dialogue.sse import Decoder

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from([None, "error", "thread.message.delta"]),
        st.lists(TEXT, min_size=1, max_size=3),  # data lines
        st.booleans(),  # a comment line first (a keep-alive)
    ),
    max_size=6,
)


def _wire(events, newline: str) -> bytes:
    out = []
    for name, lines, comment in events:
        if comment:
            out.append(f": keep-alive{newline}")
        if name:
            out.append(f"event: {name}{newline}")
        out += [f"data: {line}{newline}" if i % 2 == 0 else f"data:{line}{newline}" for i, line in enumerate(lines)]
        out.append(newline)
    return "".join(out).encode()


def _read(decoder, chunks: list[bytes]) -> list[tuple[str | None, str]]:
    async def arrive():
        for chunk in chunks:
            yield chunk

    async def collect():
        return [(e.event, e.data) async for e in decoder.aiter_bytes(arrive())]

    return asyncio.run(collect())


@given(EVENTS, st.sampled_from(["\n", "\r\n"]), st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_events_read_the_same_as_the_sdks_wherever_the_bytes_are_cut(events, newline, cuts):
    body = _wire(events, newline)
    at = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    chunks = [body[a:b] for a, b in zip(at, at[1:], strict=False) if b > a]
    assert _read(Decoder(), chunks) == _read(SSEDecoder(), chunks)


def test_a_chunk_of_the_chat_stream_parses_to_its_delta():
    body = b'data: {"choices":[{"index":0,"delta":{"content":"Hel\\u00e9"}}]}\n\ndata: [DONE]\n\n'
    [first, done] = asyncio.run(_events(body[:20], body[20:]))
    assert first.json()["choices"][0]["delta"]["content"] == "Helé"
    assert done.data == "[DONE]"


async def _events(*chunks: bytes):
    async def arrive():
        for chunk in chunks:
            yield chunk

    return [e async for e in Decoder().aiter_bytes(arrive())]


def _chunk(delta: dict, finish=None, usage=None) -> dict:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }


# What a Chat Completions stream sends: text, a tool call's pieces, a refusal, the finish, the usage.
CHUNKS = st.lists(
    st.one_of(
        TEXT.map(lambda t: _chunk({"content": t})),
        TEXT.map(lambda t: _chunk({"role": "assistant", "content": t})),
        TEXT.map(lambda t: _chunk({"tool_calls": [{"index": 0, "function": {"arguments": t}}]})),
        TEXT.map(lambda t: _chunk({"content": None, "refusal": t})),
        st.just(_chunk({}, finish="stop")),
        st.just({"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3}}),
    ),
    max_size=12,
)


def _chat_wire(chunks: list[dict]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _shape(chunks: list[dict]) -> list:
    """The stream as a reader sees it: the text between other chunks joined, the others in place."""
    shape: list = [""]
    for c in chunks:
        choice = c["choices"][0] if c["choices"] else None
        if choice and not choice["finish_reason"] and not set(choice["delta"]) - {"role", "content"}:
            shape[-1] += choice["delta"]["content"]
        else:
            shape += [c, ""]
    return shape


@given(CHUNKS, st.lists(st.integers(min_value=0, max_value=4000), max_size=8))
def test_chunks_read_together_give_the_same_text_and_every_other_chunk_in_order(chunks, cuts):
    body = _chat_wire(chunks)
    at = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    events = asyncio.run(_events(*[body[a:b] for a, b in zip(at, at[1:], strict=False) if b > a]))
    assert events[-1].data == "[DONE]"
    read = [e.json() for e in events[:-1]]
    assert _shape(read) == _shape(chunks)


def test_text_chunks_that_arrive_in_one_read_are_handed_on_as_one():
    chunks = [_chunk({"role": "assistant", "content": ""}), *(_chunk({"content": w}) for w in ("Hello", " there", "!"))]
    chunks += [_chunk({}, finish="stop"), _chunk({"content": "late"})]
    events = asyncio.run(_events(_chat_wire(chunks)))
    assert [e.json()["choices"][0]["delta"].get("content") for e in events[:-1]] == ["Hello there!", None, "late"]
    # Read one chunk at a time (a server keeping up with the model), each is handed on as it came.
    body = _chat_wire(chunks)
    one_by_one = asyncio.run(_events(*[part + b"\n\n" for part in body.split(b"\n\n")[:-1]]))
    assert len(one_by_one) == len(chunks) + 1
