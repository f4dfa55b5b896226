"""Events Switchboard announces to outside systems, and the one way to announce them.

    from integrations.events import emit
    emit(workspace_id, "handoff.created", {"handoff_id": handoff.id})

Handoff events carry `handoff_id`, conversation events `conversation_id`; subscribers add the
details from the database (`payloads.expand`), so an event has the same shape whoever sent it.
The inbox announces the `handoff.*` events; `conversation.ended` comes from the turn and the call
that end a conversation (`integrations.announce`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

# Stored on endpoints and sent on the wire: an API, never renamed casually.
HANDOFF_CREATED = "handoff.created"
HANDOFF_ASSIGNED = "handoff.assigned"
HANDOFF_RESOLVED = "handoff.resolved"
HANDOFF_RETURNED = "handoff.returned"
CONVERSATION_ENDED = "conversation.ended"
EVENTS = (HANDOFF_CREATED, HANDOFF_ASSIGNED, HANDOFF_RESOLVED, HANDOFF_RETURNED, CONVERSATION_ENDED)

Subscriber = Callable[[int, str, dict], None]

_subscribers: dict[str, Subscriber] = {}


def subscriber(kind: str) -> Callable[[Subscriber], Subscriber]:
    """Register `fn(workspace_id, event, data)` under `kind`; it runs after commit."""

    def register(fn: Subscriber) -> Subscriber:
        _subscribers[kind] = fn
        return fn

    return register


def emit(workspace_id: int, event: str, data: dict) -> None:
    """Announce `event` for a workspace once the current transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; known events: {', '.join(EVENTS)}.")

    def deliver() -> None:
        for fn in list(_subscribers.values()):
            fn(workspace_id, event, data)

    transaction.on_commit(deliver)
