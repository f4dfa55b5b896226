"""Runs one console or test-case turn through the dialogue engine and reads back what it did.

The engine (`dialogue.turn`) is the only thing that decides what the bot says; this module
collects its events into replies and turns the engine's per-turn trace (the same, redacted,
that it stores as `TurnTrace.debug`) into what the console's debug panel and the test-case
expectations read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async

from bots.schema import BotSnapshot
from conversations.models import Conversation, LlmCall
from dialogue import events, speech, state
from dialogue.turn import run_turn as engine_turn
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
    # The voice preview: the reply as the voice channel would speak it (markdown and citation marks dropped).
    result.replies.append(
        {"text": event.text, "voice_text": speech.strip_markdown(event.text), "buttons": event.buttons}
    )


def _handoff(result: ConsoleTurn, event: events.Handoff) -> None:
    result.handoff = {"reason": event.reason, "queue": event.queue, "summary": event.summary}
    if event.message:
        result.replies.append(
            {"text": event.message, "voice_text": speech.strip_markdown(event.message), "buttons": []}
        )


def _end(result: ConsoleTurn, event: events.End) -> None:
    result.ended = True


# What the console keeps of each event type; text deltas and tool events are in the trace already.
COLLECT: dict[str, Callable] = {"message": _message, "handoff": _handoff, "end": _end}


def _llm_calls(conversation_id: int, turn: int) -> list[dict]:
    return [
        {
            "model": c.model,
            "purpose": c.purpose,
            "input_tokens": c.input_tokens,
            "output_tokens": c.output_tokens,
            "latency_ms": round(c.latency_ms, 1),
            "outcome": c.outcome,
        }
        for c in LlmCall.objects.filter(conversation_id=conversation_id, turn=turn).order_by("id")
    ]


def debug_panel(trace: dict, llm_calls: list[dict]) -> dict:
    """The engine's trace as the console shows it."""
    fired = trace.get("rule_fired")
    return {
        "flow": trace.get("flow"),
        "node": trace.get("node"),
        "path": trace.get("path", []),
        "intent": trace.get("intent"),
        "confidence": trace.get("confidence"),
        "slots_before": trace.get("slots_before", {}),
        "slots_after": trace.get("slots_after", {}),
        "chunks": trace.get("chunks", []),
        "tool_calls": trace.get("tools", []),
        "llm_calls": llm_calls,
        "escalation_rules": [{"name": name, "fired": name == fired} for name in trace.get("rules_checked", [])],
        "timings": trace.get("timings", {}),
    }


async def run_turn(*, conversation: Conversation, snapshot: BotSnapshot, text: str) -> ConsoleTurn:
    result = ConsoleTurn()
    traces: list[dict] = []
    inbound = events.Inbound(kind="text", text=text)
    async for event in engine_turn(conversation, snapshot, inbound, on_trace=traces.append):
        handler = COLLECT.get(event.type)
        if handler:
            handler(result, event)
    trace = traces[-1] if traces else {}
    session = await state.load(conversation.id)
    turn_number = session.turns if session else 0
    result.trace = debug_panel(trace, await sync_to_async(_llm_calls)(conversation.id, turn_number))
    result.outcome = TurnOutcome(
        text=" ".join(r["text"] for r in result.replies),
        flow=result.trace["flow"],
        node=result.trace["node"],
        slots=result.trace["slots_after"],
        handoff=result.handoff is not None,
    )
    return result


async def forget(conversation: Conversation) -> None:
    """Remove a test run's conversation and its session state."""
    await state.clear(conversation.id)
    await Conversation.objects.filter(pk=conversation.pk).adelete()
