"""The inbox socket's frames (`ws/inbox/`), in one place: `type` strings are an API the inbox
page and benches depend on; add types and fields, never rename.

Server → agent: `snapshot` (on connect: the live chats, agents and queues), `handoff` (a chat's
current state: new, claimed, transferred, closed), `message` (anything said in a live chat,
notes included), `presence` (an agent's), `error`, `pong`.
Agent → server: `typing` (the agent is writing to a chat they own), `ping`.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from conversations.models import display_name

GROUP_EVENT = "inbox.frame"  # channel-layer message type; the consumer forwards `frame` unchanged


def group_name(workspace_id: int) -> str:
    return f"inbox.workspace.{workspace_id}"


def handoff(h) -> dict:
    """A chat as the queue list shows it. `h` has `conversation` and `assigned_to` loaded."""
    c = h.conversation
    try:
        offer = h.fallback_offer
    except ObjectDoesNotExist:
        offer = None
    return {
        "type": "handoff",
        "id": h.pk,
        "workspace_id": c.workspace_id,
        "conversation_id": c.pk,
        "queue": h.queue,
        "status": h.status,
        "reason": h.reason,
        "trigger": (h.why or {}).get("trigger", ""),
        "channel": c.channel,
        "contact": c.contact_id,
        "summary": h.summary[:300],
        "created_at": h.created_at.isoformat(),
        "assigned_to": {"id": h.assigned_to_id, "name": display_name(h.assigned_to)} if h.assigned_to_id else None,
        "fallback": offer.reason if offer is not None else "",
    }


def message(m) -> dict:
    """A stored message of a live chat. `m.author` is loaded for agents' messages and notes."""
    return {
        "type": "message",
        "conversation_id": m.conversation_id,
        "message": message_item(m),
    }


def message_item(m) -> dict:
    return {
        "id": m.pk,
        "role": m.role,
        "text": m.text,
        "author": display_name(m.author) if m.author_id else "",
        "citations": m.citations,
        "buttons": m.buttons,
        "delivery": m.delivery,
        "created_at": m.created_at.isoformat(),
    }


def presence(status) -> dict:
    return {
        "type": "presence",
        "workspace_id": status.workspace_id,
        "user_id": status.user_id,
        "name": display_name(status.user),
        "presence": status.presence,
        "max_chats": status.max_chats,
    }


def error(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}
