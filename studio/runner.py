"""Runs one console or test-case turn through the dialogue engine and reads back what it did.

The engine (`dialogue.turn`) is the only thing that decides what the bot says; this module
collects its events into replies and turns the engine's per-turn `TurnTrace` into what the
console's debug panel and the test-case expectations read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async

from bots.schema import BotSnapshot
from conversations.models import Conversation, LlmCall, TurnTrace
from dialogue import events, speech, state
from studio.cases import TurnOutcome, expect_from


@dataclass
class ConsoleTurn:
    replies: list[dict] = field(default_factory=list)  # [{"text", "voice_text", "buttons"}]
    handoff: dict | None = None
    ended: bool = False
    trace: dict = field(default_factory=dict)
    outcome: TurnOutcome = field(default_factory=TurnOutcome)

    def as_dict(self) -> dict:
        return {
            "replies": self.replies,
            "handoff": self.handoff,
            "ended": self.ended,
            "trace": self.trace,
            "expect": expect_from(self.outcome).model_dump(mode="json", exclude_defaults=True),
        }


def _message(result: ConsoleTurn, event: events.MessageDone) -> None:
    # The voice preview: the reply as the voice channel would speak it.
    result.replies.append(
        {"text": event.text, "voice_text": speech.strip_markdown(event.text), "buttons": event.buttons}
    )


def _handoff(result: ConsoleTurn, event: events.Handoff) -> None:
    result.handoff = {"reason": event.reason, "queue": event.queue, "summary": event.summary}
    if event.message:
        result.replies.append({"text": event.message, "voice_text": event.message, "buttons": []})


def _end(result: ConsoleTurn, event: events.End) -> None:
    result.ended = True


# What the console keeps of each event type; deltas and tool events are in the trace already.
COLLECT: dict[str, Callable] = {"message": _message, "handoff": _handoff, "end": _end}


def _trace_of(conversation_id: int) -> dict:
    row = TurnTrace.objects.filter(conversation_id=conversation_id).order_by("-turn", "-id").first()
    if row is None:
        return {}
    debug = dict(row.debug or {})
    debug["turn"] = row.turn
    debug["timings"] = row.timings
    if not debug.get("llm_calls"):
        debug["llm_calls"] = [
            {
                "model": c.model,
                "purpose": c.purpose,
                "input_tokens": c.input_tokens,
                "output_tokens": c.output_tokens,
                "latency_ms": round(c.latency_ms, 1),
                "outcome": c.outcome,
            }
            for c in LlmCall.objects.filter(conversation_id=conversation_id, turn=row.turn)
        ]
    return debug


async def run_turn(*, conversation: Conversation, snapshot: BotSnapshot, text: str) -> ConsoleTurn:
    from dialogue import turn  # TEMP until the engine lands

    result = ConsoleTurn()
    async for event in turn.run_turn(conversation, snapshot, events.Inbound(kind="text", text=text)):
        handler = COLLECT.get(event.type)
        if handler:
            handler(result, event)
    result.trace = await sync_to_async(_trace_of)(conversation.id)
    t = result.trace
    result.outcome = TurnOutcome(
        text=" ".join(r["text"] for r in result.replies),
        flow=t.get("flow"),
        node=t.get("node"),
        slots=t.get("slots_after") or {},
        handoff=result.handoff is not None,
    )
    return result


async def forget(conversation: Conversation) -> None:
    """Remove a test run's conversation and its session state."""
    await state.clear(conversation.id)
    await Conversation.objects.filter(pk=conversation.pk).adelete()
