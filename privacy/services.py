"""The data lifecycle: retention, erasing and exporting a contact, the deep redaction pass.

Every entry point (admin, API, Celery) calls these; each change is recorded in the audit log.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from bots.models import Workspace
from conversations.models import ContactMemory, Conversation, Handoff, Message, TurnTrace, display_name
from conversations.pii import redact, redact_obj
from dialogue.state import key as session_key
from integrations.models import WebhookDelivery
from privacy import audit
from privacy.models import AuditEntry, Retention

DEEP_BATCH = 200  # rows per table per deep-pass run
_WATERMARK = "sb:privacy:deep:{}"


@functools.cache
def sync_client() -> redis.Redis:
    """Celery and admin code is synchronous: one plain client per process."""
    timeout = settings.REDIS_SOCKET_TIMEOUT_S
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


class PrivacyError(ValueError):
    """Bad input to a privacy action; the message says what to give instead."""


def set_retention(*, workspace: Workspace, days: int | None) -> Retention | None:
    """Keep conversations `days` days after their last message; None keeps them until erased."""
    if days is not None and not 1 <= days <= 3650:
        raise PrivacyError("Retention is a number of days from 1 to 3650, or empty to keep conversations.")
    with transaction.atomic():
        before = Retention.objects.filter(workspace=workspace).values_list("days", flat=True).first()
        if days is None:
            Retention.objects.filter(workspace=workspace).delete()
            retention = None
        else:
            retention, _ = Retention.objects.update_or_create(workspace=workspace, defaults={"days": days})
        if before != days:
            audit.record(workspace_id=workspace.pk, action=AuditEntry.Action.CHANGED, target_type="retention",
                         target=str(workspace), detail={"from_days": before, "to_days": days})  # fmt: skip
    return retention


def _forget(conversations) -> dict:
    """Delete conversations with everything hanging off them, their Redis state and webhook logs."""
    ids = list(conversations.values_list("pk", flat=True))
    if not ids:
        return {"conversations": 0, "messages": 0}
    messages = Message.objects.filter(conversation_id__in=ids).count()
    WebhookDelivery.objects.filter(Q(payload__conversation__id__in=ids) | Q(payload__conversation_id__in=ids)).delete()
    Conversation.objects.filter(pk__in=ids).delete()  # messages, traces, LLM calls, handoffs, tickets, ratings
    transaction.on_commit(lambda: sync_client().delete(*[session_key(i) for i in ids]))
    return {"conversations": len(ids), "messages": messages}


def purge_expired(now=None) -> int:
    """Delete every workspace's conversations past its retention. Returns how many went."""
    now = now or timezone.now()
    total = 0
    for retention in Retention.objects.select_related("workspace"):
        cutoff = now - timedelta(days=retention.days)
        stale = (
            Conversation.objects.filter(workspace_id=retention.workspace_id, started_at__lt=cutoff)
            .annotate(last=Max("messages__created_at"))
            .filter(Q(last__lt=cutoff) | Q(last__isnull=True))
        )
        with transaction.atomic():
            counts = _forget(stale)
            if counts["conversations"]:
                audit.record(workspace_id=retention.workspace_id, action=AuditEntry.Action.PURGED,
                             target_type="conversations", detail={**counts, "days": retention.days})  # fmt: skip
        total += counts["conversations"]
    return total


def contact_reference(workspace: Workspace, contact_id: str) -> str:
    """What the audit log keeps of an erased contact: a keyed hash, to answer "was X erased?"."""
    return hashlib.sha256(f"{workspace.pk}:{contact_id}".encode()).hexdigest()[:16]


def _contact(contact_id: str) -> str:
    contact_id = (contact_id or "").strip()
    if not contact_id:
        raise PrivacyError("Give the contact's id as the channel knows them (e.g. a phone number or widget id).")
    return contact_id


def erase_contact(*, workspace: Workspace, contact_id: str, user=None) -> dict:
    """Everything Switchboard holds about a contact, gone: conversations (messages, traces, LLM
    call logs, handoffs, callback tickets, ratings), session state in Redis, long-term memory
    and the webhook deliveries that named those conversations."""
    contact_id = _contact(contact_id)
    with transaction.atomic():
        counts = _forget(Conversation.objects.filter(workspace=workspace, contact_id=contact_id))
        counts["memory"] = ContactMemory.objects.filter(workspace=workspace, contact_id=contact_id).delete()[0]
        audit.record(workspace_id=workspace.pk, action=AuditEntry.Action.ERASED, target_type="contact",
                     target=contact_reference(workspace, contact_id), detail=counts, user=user)  # fmt: skip
    return counts


def export_contact(*, workspace: Workspace, contact_id: str, user=None) -> dict:
    """A contact's data as JSON: their conversations with every message, and their memory.
    Texts go through the deep pass first, whether or not Celery has reached them yet."""
    contact_id = _contact(contact_id)
    conversations = Conversation.objects.filter(workspace=workspace, contact_id=contact_id).order_by("started_at")
    out = {
        "contact_id": contact_id,
        "exported_at": timezone.now().isoformat(),
        "conversations": [
            {
                "id": c.pk,
                "bot": c.bot.name,
                "channel": c.channel,
                "started_at": c.started_at.isoformat(),
                "status": c.status,
                "summary": redact(c.summary, deep=True),
                "messages": [
                    {"role": m.role, "text": redact(m.text, deep=True), "at": m.created_at.isoformat()}
                    for m in c.messages.all()
                ],
            }
            for c in conversations.select_related("bot").prefetch_related("messages")
        ],
        "memory": ContactMemory.objects.filter(workspace=workspace, contact_id=contact_id)
        .values_list("facts", flat=True)
        .first()
        or {},
    }
    audit.record(workspace_id=workspace.pk, action=AuditEntry.Action.EXPORTED, target_type="contact",
                 target=contact_reference(workspace, contact_id),
                 detail={"conversations": len(out["conversations"])}, user=user)  # fmt: skip
    return out


# --- the deep pass ------------------------------------------------------------------------------
def _own_names(message: Message) -> tuple[str, ...]:
    """The names its speaker goes by, never redacted as a person's: the bot's, an agent's own."""
    bot = message.conversation.bot.name
    return (bot, display_name(message.author)) if message.author_id else (bot,)


_DEEP = [
    (Message, lambda row: {"text": redact(row.text, deep=True, own_names=_own_names(row))}),
    (TurnTrace, lambda row: {"debug": redact_obj(row.debug, deep=True)}),
    (Handoff, lambda row: {"summary": redact(row.summary, deep=True), "slots": redact_obj(row.slots, deep=True)}),
]


def deep_redact_pending() -> int:
    """Run the named-entity pass over rows stored since the last run. Returns rows rewritten.

    Each table keeps a watermark (the last id seen) in Redis; a run that dies leaves it where
    it was, and running a row twice changes nothing the second time."""
    client = sync_client()
    changed = 0
    for model, redo in _DEEP:
        mark = _WATERMARK.format(model._meta.label_lower)
        after = int(client.get(mark) or 0)
        rows = model.objects.filter(pk__gt=after).order_by("pk")
        if model is Message:
            rows = rows.select_related("conversation__bot", "author")
        rows = list(rows[:DEEP_BATCH])
        for row in rows:
            fields = {k: v for k, v in redo(row).items() if v != getattr(row, k)}
            if fields:
                model.objects.filter(pk=row.pk).update(**fields)
                changed += 1
        if rows:
            client.set(mark, rows[-1].pk)
    if changed:
        _redact_summaries()
    return changed


def _redact_summaries() -> None:
    for c in Conversation.objects.exclude(summary="").filter(ended_at__gte=timezone.now() - timedelta(minutes=5)):
        clean = redact(c.summary, deep=True)
        if clean != c.summary:
            Conversation.objects.filter(pk=c.pk).update(summary=clean)
