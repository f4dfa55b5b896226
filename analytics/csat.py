"""CSAT on WhatsApp and Slack: when the bot ends a conversation there, the person gets one question
with three quick replies; a tap on one is recorded as that conversation's rating (no turn runs)."""

from __future__ import annotations

from analytics import services
from conversations.models import Conversation

PREFIX = "csat:"
CHANNELS = ("whatsapp", "slack")
QUESTION = "How did we do?"
THANKS = "Thank you for your feedback."
# Three replies: WhatsApp's limit for reply buttons. Scores on the 1–5 scale of every rating.
BUTTONS = [
    {"title": "Great", "payload": f"{PREFIX}5"},
    {"title": "OK", "payload": f"{PREFIX}3"},
    {"title": "Not good", "payload": f"{PREFIX}1"},
]


def score(payload: str) -> int | None:
    """The score a quick reply carries, or None when it is not an answer to the question."""
    if not payload.startswith(PREFIX) or payload[len(PREFIX) :] not in {"1", "2", "3", "4", "5"}:
        return None
    return int(payload[len(PREFIX) :])


def record(conversation_id: int | None, payload: str) -> bool:
    conversation = Conversation.objects.filter(pk=conversation_id).first() if conversation_id else None
    value = score(payload)
    if conversation is None or value is None:
        return False
    services.conversation_rate(conversation=conversation, score=value, source="stars")
    return True
