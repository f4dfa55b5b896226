"""Reads for the inbox, always through the workspaces where the person works the inbox."""

from __future__ import annotations

from bots.access import INBOX, workspaces_for
from conversations.models import ContactMemory, Handoff, Message, TurnTrace
from inbox import frames
from inbox.access import handoffs_for
from inbox.models import AgentStatus, CannedReply, Queue, Ticket

LIVE_LIMIT = 300  # chats listed at once; older waiting ones appear as these are taken
TRANSCRIPT_LIMIT = 500


def snapshot(user) -> dict:
    """Everything the inbox shows on (re)connect: live chats, agents, queues, canned replies."""
    workspaces = list(workspaces_for(user, INBOX).order_by("name").values("id", "name"))
    ids = [w["id"] for w in workspaces]
    live = (
        handoffs_for(user)
        .filter(status__in=(Handoff.Status.OPEN, Handoff.Status.ASSIGNED))
        .select_related("conversation", "assigned_to", "fallback_offer")
        .order_by("created_at")[:LIVE_LIMIT]
    )
    agents = AgentStatus.objects.filter(workspace_id__in=ids).of_members().select_related("user")
    return {
        "type": "snapshot",
        "me": {"id": user.pk, "name": frames.display_name(user)},
        "workspaces": workspaces,
        "queues": list(Queue.objects.filter(workspace_id__in=ids).values("workspace_id", "name", "assignment")),
        "handoffs": [frames.handoff(h) for h in live],
        "agents": [frames.presence(a) for a in agents],
        "canned": list(CannedReply.objects.filter(workspace_id__in=ids).values("workspace_id", "shortcut", "text")),
    }


def context_packet(handoff: Handoff) -> dict:
    """The right-hand side and the middle of the inbox: why, summary, slots, contact facts,
    channel and identity, the transcript with the bot's citations and tool calls, notes."""
    conversation = handoff.conversation
    messages = list(
        Message.objects.filter(conversation=conversation)
        .select_related("author")
        .order_by("created_at", "id")[:TRANSCRIPT_LIMIT]
    )
    tools = [
        {"turn": t.turn, "created_at": t.created_at.isoformat(), "tools": t.debug.get("tools") or []}
        for t in TurnTrace.objects.filter(conversation=conversation).only("turn", "created_at", "debug")
        if t.debug.get("tools")
    ]
    facts = (
        ContactMemory.objects.filter(workspace_id=conversation.workspace_id, contact_id=conversation.contact_id)
        .values_list("facts", flat=True)
        .first()
        if conversation.contact_id
        else None
    )
    ticket = Ticket.objects.filter(handoff=handoff).first()
    return {
        "handoff": frames.handoff(handoff),
        "why": handoff.why,
        "summary": handoff.summary,
        "slots": handoff.slots,
        "facts": facts or {},
        "conversation": {
            "id": conversation.pk,
            "status": conversation.status,
            "channel": conversation.channel,
            "contact": conversation.contact_id,
            "bot": conversation.bot.name,
            "started_at": conversation.started_at.isoformat(),
            "turns": conversation.turn_count,
        },
        "messages": [frames.message_item(m) for m in messages],
        "tool_calls": tools,
        # Shown in full here only: the page is for this workspace's agents (access_handoff checked it).
        "ticket": {"kind": ticket.kind, "contact": ticket.reveal(), "status": ticket.status} if ticket else None,
    }
