"""The data events carry, built in one place so every sender of an event sends the same shape.

Texts and slots are stored redacted already; the webhook log redacts the payload once more.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from conversations.models import Conversation, Handoff


def _at(value) -> str | None:
    return value.isoformat() if value else None


def transcript_url(conversation_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("admin:conversations_conversation_change", args=[conversation_id])


def conversation(c: Conversation) -> dict:
    return {
        "id": c.pk,
        "workspace_id": c.workspace_id,
        "bot": {"id": c.bot_id, "name": c.bot.name},
        "channel": c.channel,
        "contact_id": c.contact_id,
        "status": c.status,
        "started_at": _at(c.started_at),
        "ended_at": _at(c.ended_at),
        "transcript_url": transcript_url(c.pk),
    }


def expand(data: dict) -> dict:
    """An event's data with the handoff's or the conversation's details, as they are now."""
    if "handoff_id" in data:
        return {**data, **handoff(data["handoff_id"])}
    if "conversation_id" in data:
        c = Conversation.objects.select_related("bot").get(pk=data["conversation_id"])
        return {**data, "conversation": conversation(c)}
    return data


def handoff(handoff_id: int) -> dict:
    """`{"handoff": ..., "conversation": ...}`: the details every `handoff.*` event carries."""
    h = Handoff.objects.select_related("conversation__bot", "assigned_to").get(pk=handoff_id)
    agent = h.assigned_to
    return {
        "handoff": {
            "id": h.pk,
            "status": h.status,
            "queue": h.queue,
            "reason": h.reason,
            "summary": h.summary,
            "slots": h.slots,
            "assigned_to": {"id": agent.pk, "name": agent.get_full_name() or agent.get_username()} if agent else None,
            "created_at": _at(h.created_at),
            "assigned_at": _at(h.assigned_at),
            "first_reply_at": _at(h.first_reply_at),
            "closed_at": _at(h.closed_at),
        },
        "conversation": conversation(h.conversation),
    }
