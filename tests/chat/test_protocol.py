"""The chat protocol's stored names, and how streamed tokens are grouped into frames."""

from __future__ import annotations

import asyncio

from channels_app import protocol
from channels_app.coalesce import DeltaCoalescer
from channels_app.origins import origin_allowed
from dialogue import events


def test_frame_types_and_error_codes_are_pinned():
    # Widgets in the wild and API clients depend on these: add, never rename.
    assert set(protocol.EVENT_FRAMES) == {"text_delta", "message", "tool_started", "tool_finished", "handoff", "end"}
    assert set(protocol.EVENT_FRAMES) <= set(events.EVENT_TYPES)
    assert set(protocol.ERRORS) >= {
        "bad_frame",
        "not_started",
        "message_too_long",
        "rate_limited",
        "too_many_connections",
        "busy",
        "unknown_bot",
        "not_published",
        "origin_not_allowed",
        "turn_failed",
    }
    assert protocol.GROUP_EVENT == "chat.frame"


def test_staff_only_details_never_reach_the_user():
    handoff = events.Handoff(
        reason="rule", queue="support", summary="VIP, angry", slots={"email": "a@b.c"}, message="Hi"
    )
    assert protocol.event_frame(handoff) == {"type": "handoff", "queue": "support", "message": "Hi"}
    tool = events.ToolStarted(name="order_status", arguments={"order_id": "1001"})
    assert protocol.event_frame(tool) == {"type": "tool_started", "name": "order_status"}
    assert protocol.event_frame(events.SentenceEnd(text="Hello.")) is None  # voice only


def test_origins():
    allowed = ["https://shop.example.com", "https://*.acme.test"]
    assert origin_allowed("https://shop.example.com", allowed)
    assert origin_allowed("https://eu.acme.test", allowed)
    assert not origin_allowed("https://acme.test.evil.com", allowed)
    assert not origin_allowed("http://shop.example.com", allowed)
    assert origin_allowed("https://anything.example", [])


async def test_first_token_goes_out_alone_and_the_rest_are_grouped():
    frames: list[str] = []

    async def send(text):
        frames.append(text)

    coalescer = DeltaCoalescer(send, interval=0.2)
    for token in ["Hel", "lo", " there", ",", " friend"]:
        await coalescer.add(token)
    assert frames == ["Hel"]  # at once: it is what the user waits for
    await asyncio.sleep(0.3)  # the timer sends what waited, as one frame
    assert frames == ["Hel", "lo there, friend"]
    await coalescer.add("!")
    await coalescer.flush()
    assert "".join(frames) == "Hello there, friend!"
    coalescer.close()
