"""Reads of conversations, always scoped to the workspaces the caller may see."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from conversations.models import Conversation, Handoff, LlmCall, Message, TurnTrace


def conversations_in(workspace_ids) -> QuerySet[Conversation]:
    """Conversations of these workspaces, annotated with whether any handoff happened."""
    return (
        Conversation.objects.filter(workspace_id__in=workspace_ids)
        .select_related("bot")
        .annotate(handed_off=Exists(Handoff.objects.filter(conversation_id=OuterRef("pk"))))
    )


def search_conversations(queryset: QuerySet[Conversation], query: str) -> QuerySet[Conversation]:
    """Match the contact, the summary or any (already redacted) message text."""
    query = query.strip()
    if not query:
        return queryset
    said = Message.objects.filter(conversation_id=OuterRef("pk"), text__icontains=query)
    return queryset.filter(Q(contact_id__icontains=query) | Q(summary__icontains=query) | Exists(said))


def bot_conversations(*, workspace_ids, bot_id: int, query: str = "") -> QuerySet[Conversation]:
    return search_conversations(conversations_in(workspace_ids).filter(bot_id=bot_id), query).order_by("-started_at")


def conversation_in(*, workspace_ids, conversation_id: int) -> Conversation | None:
    """The conversation if it belongs to one of these workspaces; None answers 404 either way."""
    return conversations_in(workspace_ids).filter(pk=conversation_id).first()


def transcript(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.select_related("author").order_by("created_at", "id"))


def transcript_with_traces(conversation: Conversation) -> dict:
    """The transcript with each turn's trace (timings, LLM calls) placed after the messages of
    that turn, and the handoffs, for the admin."""
    calls: dict[int, list[LlmCall]] = {}
    for call in LlmCall.objects.filter(conversation=conversation).order_by("created_at", "id"):
        calls.setdefault(call.turn, []).append(call)
    entries = [{"kind": "message", "at": m.created_at, "message": m} for m in transcript(conversation)]
    for trace in TurnTrace.objects.filter(conversation=conversation):
        entries.append(
            {"kind": "trace", "at": trace.created_at, "trace": trace, "llm_calls": calls.get(trace.turn, [])}
        )
    entries.sort(key=lambda e: (e["at"], e["kind"] == "trace"))
    return {"conversation": conversation, "entries": entries, "handoffs": list(conversation.handoffs.all())}
