"""What goes into a turn and what comes out of it.

Channels translate an inbound payload into an `Inbound` and render the `Event`s the engine
yields. The `type` strings are sent over the widget WebSocket, the SSE API and stored in
traces: they are an API and are never renamed casually.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

InboundKind = Literal["text", "button", "dtmf", "event"]
SystemEvent = Literal["conversation_started", "call_started", "silence_timeout", "agent_returned"]


@dataclass(frozen=True)
class Inbound:
    kind: InboundKind
    text: str = ""  # text, or the button's title, or the DTMF digits
    payload: str = ""  # button payload
    event: SystemEvent | None = None
    ref: str = ""  # the messaging platform's id of the message, stored with it (retries find it)


@dataclass
class Event:
    type: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TextDelta(Event):
    text: str = ""
    type: str = "text_delta"


@dataclass
class SentenceEnd(Event):
    """Voice: everything since the previous boundary is a complete sentence, ready to speak."""

    text: str = ""
    type: str = "sentence"


@dataclass
class Citation:
    index: int
    title: str
    url: str = ""
    heading: str = ""


@dataclass
class MessageDone(Event):
    text: str = ""
    buttons: list[dict] = field(default_factory=list)  # [{"title": ..., "payload": ...}]
    citations: list[Citation] = field(default_factory=list)
    type: str = "message"


@dataclass
class ToolStarted(Event):
    name: str = ""
    arguments: dict = field(default_factory=dict)
    type: str = "tool_started"


@dataclass
class ToolFinished(Event):
    name: str = ""
    ok: bool = True
    result: str = ""
    type: str = "tool_finished"


@dataclass
class Handoff(Event):
    reason: str = ""  # the rule name, or "flow" for a handoff node
    queue: str = "default"
    summary: str = ""
    slots: dict = field(default_factory=dict)
    transfer_to: str = ""  # voice: number or SIP address
    message: str = ""
    type: str = "handoff"


@dataclass
class End(Event):
    reason: str = ""
    type: str = "end"


EVENT_TYPES = ("text_delta", "sentence", "message", "tool_started", "tool_finished", "handoff", "end")
