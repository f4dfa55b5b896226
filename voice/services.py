"""Writes for phone calls: answering, status callbacks, outcomes, per-turn latency.

Views and the media-stream consumer call these and nothing else touches `Call` rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from bots.models import ChannelConnection
from bots.schema import BotSnapshot
from bots.selectors import NotPublished, published_snapshot
from conversations.models import Conversation, Handoff, LlmCall
from conversations.redaction import redact
from integrations import announce
from voice.models import Call, CallTurn

TOKEN_SALT = "voice.stream"  # noqa: S105 — a signing namespace, not a secret
TOKEN_MAX_AGE_S = 120  # Twilio opens the stream within a second or two of our TwiML answer
ENDED_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
UNANSWERED = {"no-answer", "busy", "failed", "canceled"}  # DialCallStatus of a transfer nobody took
CALL_BACK = "Nobody is free right now; we will call you back at this number. Goodbye."
MAX_CALL_S = 24 * 3600  # Twilio ends every call after 24 hours
# How far a call has got, by the statuses Twilio reports (the call's own CallStatus and its media
# stream's StreamEvent). Twilio retries callbacks and does not order them, so the recorded status
# only moves forward, as a message's delivery does: a late "in-progress" or "stream-stopped" never
# reopens a call that ended, and an ended call keeps its first ending.
CALL_PROGRESS = {
    "queued": 0,
    "initiated": 0,
    "ringing": 1,
    "in-progress": 2,
    "stream-started": 2,
    "stream-stopped": 3,
    "stream-error": 3,
    **dict.fromkeys(ENDED_STATUSES, 4),
}


class NoBotForNumber(LookupError):
    """No active phone channel with a published bot answers this number."""


class BadStreamToken(PermissionError):
    pass


class BadStatusCallback(ValueError):
    """A status callback with a status or duration Twilio never sends."""


def mask_number(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    return f"{number[:2]}•••••{digits[-4:]}" if len(digits) > 6 else "•••"


def contact_id_for(number: str) -> str:
    # Calls from one number share memory without storing the number itself.
    return "phone:" + hashlib.sha256(f"{settings.SECRET_KEY}|{number}".encode()).hexdigest()[:24]


def call_answer(*, call_sid: str, caller: str, dialled: str) -> tuple[Call, str]:
    """Map the dialled number to its bot, record the call (once per CallSid), return a stream token."""
    channel = (
        ChannelConnection.objects.select_related("bot")
        .filter(kind=ChannelConnection.Kind.PHONE, phone_number=dialled, is_active=True)
        .first()
    )
    if channel is None:
        raise NoBotForNumber(dialled)
    try:
        version, _ = published_snapshot(channel.bot_id)
    except NotPublished:
        raise NoBotForNumber(dialled) from None
    bot = channel.bot
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
        if call is None:  # Twilio retries a webhook that timed out: same CallSid, same call
            conversation = Conversation.objects.create(
                workspace_id=bot.workspace_id,
                bot=bot,
                bot_version_id=version.id,
                channel="voice",
                contact_id=contact_id_for(caller),
            )
            call = Call.objects.create(
                workspace_id=bot.workspace_id,
                bot=bot,
                conversation=conversation,
                call_sid=call_sid,
                caller=mask_number(caller),
                dialled=dialled,
            )
    return call, signing.dumps({"call": call.id}, salt=TOKEN_SALT)


@dataclass(frozen=True)
class CallContext:
    """What the media-stream pipeline needs, loaded once when the stream starts."""

    call_id: int
    call_sid: str
    bot_id: int
    workspace_id: int
    conversation_id: int
    version_id: int
    snapshot: BotSnapshot


def stream_open(*, token: str, call_sid: str, stream_sid: str) -> CallContext:
    """Check the stream's token (signed, recent, for this very call, used once) and load what
    the call needs."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE_S)
    except signing.BadSignature:
        raise BadStreamToken("bad or expired stream token") from None
    claimed = Call.objects.filter(
        pk=data.get("call"), call_sid=call_sid, outcome=Call.Outcome.ONGOING, stream_sid=""
    ).update(stream_sid=stream_sid, twilio_status="in-progress")
    if not claimed:  # a second stream for the call (a replayed token) gets nothing
        raise BadStreamToken("the token is not for this call, or was used already")
    call = Call.objects.get(pk=data["call"])
    version, snapshot = published_snapshot(call.bot_id)
    return CallContext(
        call_id=call.id,
        call_sid=call.call_sid,
        bot_id=call.bot_id,
        workspace_id=call.workspace_id,
        conversation_id=call.conversation_id,
        version_id=version.id,
        snapshot=snapshot,
    )


def call_status(*, call_sid: str, status: str, duration: int | None) -> Call | None:
    """Twilio's status callback: how far the call got and how it ended. Idempotent, and a status
    never moves back (see CALL_PROGRESS); None when the call is unknown or already that far.

    Raises `BadStatusCallback`."""
    rank = CALL_PROGRESS.get(status)
    if rank is None:
        raise BadStatusCallback(f"{status[:40]!r} is not a call or stream status Twilio sends.")
    if duration is not None and duration > MAX_CALL_S:
        raise BadStatusCallback(f"A call lasts at most {MAX_CALL_S} seconds.")
    earlier = [s for s, r in CALL_PROGRESS.items() if r < rank]
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid, twilio_status__in=earlier).first()
        if call is None:
            return None
        call.twilio_status = status
        fields = ["twilio_status"]
        if status in ENDED_STATUSES:
            if call.ended_at is None:
                call.ended_at = timezone.now()
                fields.append("ended_at")
            if duration is not None:
                call.duration_s = duration
                fields.append("duration_s")
            if call.outcome == Call.Outcome.ONGOING:
                call.outcome = Call.Outcome.CALLER_HUNG_UP if status == "completed" else Call.Outcome.FAILED
                fields.append("outcome")
        call.save(update_fields=fields)
    return call


def call_finish(*, call_id: int, outcome: str, transferred_to: str = "", whisper: str = "") -> None:
    """Record how the bot ended the call; the first recorded outcome wins."""
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if call.outcome != Call.Outcome.ONGOING:
            return
        call.outcome, call.transferred_to, call.whisper = outcome, transferred_to, redact(whisper)
        call.ended_at = call.ended_at or now
        call.save(update_fields=["outcome", "transferred_to", "whisper", "ended_at"])
        if outcome != Call.Outcome.TRANSFERRED and Conversation.objects.filter(
            pk=call.conversation_id, ended_at__isnull=True
        ).update(status=Conversation.Status.ENDED, ended_at=now):
            announce.conversation_ended(call.conversation_id)


def call_turn_record(*, call_id: int, conversation_id: int, index: int, since, figures: dict, **fields) -> CallTurn:
    """Store one turn's latency. Vendor LLM time is what the engine's gateway measured for the
    calls this turn made before its first text (time to first token of the answer, whole time of
    a classification or of a failed attempt), so the engine's own work counts as ours."""
    calls = LlmCall.objects.filter(
        conversation_id=conversation_id, created_at__gte=since, purpose__in=("reply", "classify")
    ).exclude(outcome=LlmCall.Outcome.CANCELLED)
    llm = sum((c.ttft_ms if c.outcome == LlmCall.Outcome.OK and c.ttft_ms is not None else c.latency_ms) for c in calls)
    total = figures["first_audio_ms"]
    vendor = sum(v for v in (figures["stt_ms"], llm, figures["tts_first_byte_ms"]) if v is not None)
    return CallTurn.objects.create(
        call_id=call_id,
        index=index,
        stt_ms=figures["stt_ms"],
        llm_first_token_ms=round(llm, 2) if calls else None,
        tts_first_byte_ms=figures["tts_first_byte_ms"],
        first_audio_ms=total,
        platform_ms=round(total - vendor, 2) if total is not None else None,
        **fields,
    )


def transfer_unanswered(*, call: Call, caller: str) -> str:
    """Nobody took the transferred call: its handoff waits in the inbox as a callback to the
    caller's number (encrypted, like every callback contact), and the call ends. Returns what
    the caller hears. Twilio may post the action twice: the second finds no open handoff."""
    from inbox import services as inbox  # the inbox is where callbacks are worked from
    from inbox.models import Ticket

    now = timezone.now()
    with transaction.atomic():
        handoff = (
            Handoff.objects.select_for_update()
            .select_related("conversation")
            .filter(conversation_id=call.conversation_id, status=Handoff.Status.OPEN)
            .order_by("-created_at")
            .first()
        )
        if handoff is not None and caller:
            inbox.close_as_callback(handoff=handoff, kind=Ticket.Kind.PHONE, contact=caller)
        ended = Conversation.objects.filter(pk=call.conversation_id, ended_at__isnull=True).update(
            status=Conversation.Status.ENDED, ended_at=now
        )
        if ended:
            announce.conversation_ended(call.conversation_id)
    return CALL_BACK
