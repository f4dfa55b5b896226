"""Writes to conversation records. Every text and JSON detail is redacted here, before storage."""

from __future__ import annotations

import contextlib
import functools

from django.db import transaction
from django.utils import timezone

from bots.models import Bot
from conversations.models import ContactMemory, Conversation, Handoff, LlmCall, Message, TurnTrace
from conversations.redaction import holds_secret, redact, redact_obj
from conversations.statements import write_together
from integrations import announce

MEMORY_FACTS = 30  # most facts kept per contact


def conversation_start(
    *, bot: Bot, channel: str = "web", contact_id: str = "", bot_version_id: int | None = None, metadata=None
) -> Conversation:
    return Conversation.objects.create(
        workspace_id=bot.workspace_id,
        bot=bot,
        channel=channel,
        contact_id=contact_id,
        bot_version_id=bot_version_id,
        metadata=metadata or {},
    )


def record_turn(
    *,
    conversation_id: int,
    turn: int,
    user_text: str | None,
    user_ref: str = "",
    delivery: str = "",
    bot_messages: list[dict],
    trace: dict,
    timings: dict,
    llm_calls: list[dict],
    handoff: dict | None,
    status: str,
    previous_status: str,
    counted: bool,
    region: str = "US",
    own_names: tuple[str, ...] = (),
) -> list[int]:
    """Store one turn: the user's message, what the bot delivered, its trace, LLM calls, handoff.

    Returns the ids of the bot's messages, in order. `user_ref` is the messaging platform's id of
    the user's message; `delivery` ("pending" on messaging channels) marks the bot's messages as
    still to be sent.

    `region` and `own_names` tune redaction to the bot: its phone region, and its own name, which
    is never a person's.

    `bot_messages` items: {"text", "buttons", "citations", "interrupted"}. The status is written
    only when the turn changed it (from `previous_status`, read when the turn began), so a turn
    never overwrites what an agent did meanwhile. The dialogue's per-conversation lock already
    serialises turns, so no row lock is taken.
    """
    from inbox import services as inbox  # here: inbox → channels_app → conversations would be an import cycle

    conversation = Conversation(pk=conversation_id)
    scrub = functools.partial(redact, region=region, own_names=own_names)
    rows = []
    if user_text:
        rows.append(
            Message(conversation=conversation, role=Message.Role.USER, text=scrub(user_text), external_id=user_ref)
        )
    bots = [
        Message(
            conversation=conversation,
            role=Message.Role.BOT,
            text=scrub(m["text"]),
            interrupted=m.get("interrupted", False),
            buttons=m.get("buttons") or [],
            citations=m.get("citations") or [],
            delivery=delivery,
        )
        for m in bot_messages
    ]
    trace_row = TurnTrace(
        conversation=conversation,
        turn=turn,
        timings={k: round(v, 2) for k, v in timings.items()},
        debug=redact_obj(trace),
    )
    calls = _llm_call_rows(conversation, turn, llm_calls)
    fields = {}
    if handoff is not None:
        fields["summary"] = scrub(handoff["summary"])
    if status != previous_status:
        fields["status"] = status
        if status == Conversation.Status.ENDED:
            fields["ended_at"] = timezone.now()
    # The common turn is one statement (see conversations.statements); a handoff adds its row in
    # the same transaction.
    with transaction.atomic() if handoff is not None else contextlib.nullcontext():
        write_together(
            returning=rows + bots,
            inserts=[[trace_row], calls],
            update=(Conversation, conversation_id, fields, {"turn_count": 1} if counted else {}),
        )
        if handoff is not None:
            row = Handoff.objects.create(
                conversation=conversation,
                reason=handoff["reason"][:120],
                why=redact_obj(handoff.get("why") or {}),
                queue=handoff["queue"],
                summary=fields["summary"],
                slots=redact_obj(handoff["slots"]),
                transfer_to=handoff.get("transfer_to", ""),
            )
            transaction.on_commit(lambda: inbox.handoff_opened(row.pk))
        elif previous_status == Conversation.Status.HANDED_OFF and user_text:
            # A person has the conversation: the user's message goes to them, live. The raw text
            # stays in memory only (the inbox reads a callback number or email from it).
            said = rows[0].pk
            transaction.on_commit(lambda: inbox.user_wrote(conversation_id, said, user_text))
        if status != previous_status and status == Conversation.Status.ENDED:
            announce.conversation_ended(conversation_id)  # sent to outside systems after commit
    return [m.pk for m in bots]


def record_llm_calls(*, conversation_id: int, turn: int, llm_calls: list[dict]) -> None:
    """Store LLM attempts that belong to no stored turn (a speculative reply that was dropped):
    their tokens count in usage and cost all the same."""
    LlmCall.objects.bulk_create(_llm_call_rows(Conversation(pk=conversation_id), turn, llm_calls))


def _llm_call_rows(conversation: Conversation, turn: int, llm_calls: list[dict]) -> list[LlmCall]:
    return [
        LlmCall(conversation=conversation, turn=turn, **{k: v for k, v in c.items() if k in _LLM_FIELDS})
        for c in llm_calls
    ]


_LLM_FIELDS = {"model", "purpose", "input_tokens", "output_tokens", "ttft_ms", "latency_ms", "outcome", "error"}


def remember_contact(*, workspace_id: int, contact_id: str, facts: dict) -> None:
    """Merge facts learnt in a conversation into the contact's long-term memory.

    `facts` are the answers the builder marked memorable, kept as said (the bot needs them
    next time); a value holding a card number, SSN or IBAN is never kept."""
    if not contact_id or not facts:
        return
    clean = {
        k: str(v)[:200]
        for k, v in facts.items()
        if isinstance(v, str | int | float) and str(v) and not holds_secret(str(v))
    }
    if not clean:
        return
    with transaction.atomic():
        memory, _ = ContactMemory.objects.select_for_update().get_or_create(
            workspace_id=workspace_id, contact_id=contact_id
        )
        merged = {**memory.facts, **clean}
        memory.facts = dict(list(merged.items())[-MEMORY_FACTS:])
        memory.save(update_fields=["facts", "updated_at"])
