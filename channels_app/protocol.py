"""The web chat protocol: every frame the widget and the server exchange, in one place.

The same server frames are the SSE API's events, so a client written against one works with
the other. `type` strings are an API (the widget, SDKs and tests depend on them): add new
types and fields, never rename.

Client → server: `start` (new or resumed conversation), `message`, `button`, `ping`, `rating`
(the person's satisfaction, answered with `rated`).
Server → client: `ready`, `history`, the engine's events (`text_delta`, `message`,
`tool_started`, `tool_finished`, `handoff`, `end`), `agent_message`, `agent_joined`,
`agent_typing`, `agent_left`, `bot_message`, `status` (sent by other processes through the
conversation's group), `done` (the turn is over), `error`, `pong`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from conversations.models import display_name
from dialogue import events

MAX_TEXT_CHARS = 2000  # the longest message a user may send
MAX_FRAME_BYTES = 8 * 1024  # a raw frame above this is refused before parsing
HISTORY_LIMIT = 200  # messages replayed on resume
COALESCE_S = 0.03  # after the first token, deltas go out in frames of about this length


# --- Client frames ---------------------------------------------------------------------------
class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Start(_Frame):
    type: Literal["start"]
    token: str = Field(default="", max_length=300)  # from a previous `ready`: resume that conversation
    after: int = Field(default=0, ge=0)  # replay stored messages with a larger id
    # Who the visitor is on the site, signed by the site's backend (channels_app/identity.py);
    # without a valid signature the chat is anonymous.
    contact_id: str = Field(default="", max_length=200)
    contact_signature: str = Field(default="", max_length=200)


class Say(_Frame):
    type: Literal["message"]
    text: str = Field(min_length=1)


class Press(_Frame):
    type: Literal["button"]
    title: str = Field(min_length=1, max_length=200)
    payload: str = Field(default="", max_length=200)


class Ping(_Frame):
    type: Literal["ping"]


class Rate(_Frame):
    type: Literal["rating"]
    score: int | None = Field(default=None, ge=1, le=5)  # 1–5, or
    thumbs: Literal["up", "down"] | None = None


ClientFrame = TypeAdapter(Annotated[Start | Say | Press | Ping | Rate, Field(discriminator="type")])


# --- Errors: one code, one sentence a user or integrator can act on -----------------------------
ERRORS: dict[str, str] = {
    "bad_frame": 'Frames are JSON objects with a "type": start, message, button, ping or rating.',
    "bad_rating": 'Rate with either "score" (1 to 5) or "thumbs" ("up" or "down").',
    "not_started": 'Send {"type": "start"} first.',
    "message_too_long": f"Messages can be at most {MAX_TEXT_CHARS} characters.",
    "rate_limited": "You are sending messages too fast. Wait a moment and try again.",
    "too_many_connections": "Too many chat connections from your network. Try again in a minute.",
    "busy": "Wait for the answer to your previous message.",
    "unknown_bot": "No bot has this public key. Check the data-bot attribute of the script tag.",
    "not_published": "This bot has not been published yet.",
    "origin_not_allowed": "This website is not in the bot's allowed origins.",
    "turn_failed": "Sorry, something went wrong on our side. Please try again.",
    "channel_off": "Chat with this bot is switched off. Switch its website chat channel on in the admin.",
    "identity_not_verified": "The contact's signature does not match: this chat is anonymous. "
    "Sign the contact id with the web channel's identity secret (HMAC-SHA256, hex).",
    "too_many_conversations": "Too many new conversations. Wait a moment and try again.",
}
FATAL = {"unknown_bot", "not_published", "origin_not_allowed", "too_many_connections", "channel_off"}


def error(code: str, *, turn: bool = False, retry_after: int | None = None) -> dict:
    """`turn` tells the client that the message it sent was not (or no longer) being answered;
    `retry_after` (seconds) comes with a limit that lifts by itself."""
    frame = {"type": "error", "code": code, "message": ERRORS[code], "turn": turn}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return frame


# --- Server frames from engine events: a registry keyed by the event's stored type ------------
def _citations(event: events.MessageDone) -> list[dict]:
    return [{"index": c.index, "title": c.title, "url": c.url, "heading": c.heading} for c in event.citations]


# Only what an end user should see: tool arguments and the handoff's summary/slots are for staff.
EVENT_FRAMES = {
    "text_delta": lambda e: {"type": "text_delta", "text": e.text},
    "message": lambda e: {"type": "message", "text": e.text, "buttons": e.buttons, "citations": _citations(e)},
    "tool_started": lambda e: {"type": "tool_started", "name": e.name},
    "tool_finished": lambda e: {"type": "tool_finished", "name": e.name, "ok": e.ok},
    "handoff": lambda e: {"type": "handoff", "queue": e.queue, "message": e.message},
    "end": lambda e: {"type": "end", "reason": e.reason},
}


def event_frame(event: events.Event) -> dict | None:
    """The frame for an engine event, or None for events chat does not show (voice sentences)."""
    render = EVENT_FRAMES.get(event.type)
    return render(event) if render else None


def ready(*, conversation_id: int, token: str, resumed: bool, status: str) -> dict:
    """`status` is the conversation's (active, handed_off, ended), so a resumed widget shows it."""
    return {"type": "ready", "conversation_id": conversation_id, "token": token, "resumed": resumed, "status": status}


def message_frame(message) -> dict:
    """A stored `conversations.Message` as the widget shows it (history, agent messages)."""
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "buttons": message.buttons,
        "citations": message.citations,
        "interrupted": message.interrupted,
        "created_at": message.created_at.isoformat(),
        "author": display_name(message.author) if message.author_id else "",  # an agent's name
    }


def history(messages) -> dict:
    return {"type": "history", "messages": [message_frame(m) for m in messages]}


def done(last_message_id: int | None) -> dict:
    return {"type": "done", "last_message_id": last_message_id}


def agent_message(message, author: str) -> dict:
    return {"type": "agent_message", **message_frame(message), "author": author}


def bot_message(message) -> dict:
    """A stored bot message sent outside a turn (e.g. nobody can answer: the callback offer)."""
    return {"type": "bot_message", **message_frame(message)}


def agent_joined(author: str) -> dict:
    """A person took the conversation over: "Ana joined the conversation"."""
    return {"type": "agent_joined", "author": author}


def agent_typing(author: str) -> dict:
    return {"type": "agent_typing", "author": author}


def agent_left(author: str, outcome: str) -> dict:
    """The person is done: `outcome` is "resolved" (they closed it) or "returned" (back to the bot)."""
    return {"type": "agent_left", "author": author, "outcome": outcome}


# The channel-layer message type other processes send to a conversation's group; the consumer
# forwards its `frame` to the socket unchanged (see services.broadcast).
GROUP_EVENT = "chat.frame"


def group_name(conversation_id: int) -> str:
    return f"chat.conversation.{conversation_id}"
