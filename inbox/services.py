"""Every change to a handoff, in one function each: check, write, then tell the people concerned
after commit (the agents' inbox sockets, the customer's widget or messaging channel, outside
systems through `integrations.events`).

Views, the inbox socket, the Celery beat task and the turn's hook (`conversations.services.
record_turn`) all come through here, so a handoff behaves the same whichever way it changes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from bots.access import INBOX, workspaces_for
from channels_app import layer, protocol
from channels_app.messaging import outbox
from channels_app.messaging.base import Outgoing
from channels_app.services import broadcast
from channels_app.tasks import deliver_pending
from conversations.models import Conversation, Handoff, Message
from conversations.redaction import redact
from dialogue import state as session
from dialogue.turn import conversation_lock
from inbox import frames
from inbox.frames import display_name as agent_name
from inbox.models import AgentStatus, FallbackOffer, Queue, Ticket
from integrations import events

MESSAGING = {"whatsapp", "slack", "sms"}  # channels whose messages go out through the outbox
MAX_REPLY_CHARS = 4000
CONTINUE = "Continue with the assistant"  # the fallback's button: its title is also its payload
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"^\+?[\d\s().\-]{7,22}$")
LIVE = (Handoff.Status.OPEN, Handoff.Status.ASSIGNED)


class InboxError(Exception):
    """A refused action, with a sentence the agent can act on. `status` is the HTTP status."""

    def __init__(self, code: str, message: str, *, status: int = 409, **extra):
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.message, **self.extra}


def queue_for(workspace_id: int, name: str) -> Queue:
    """The workspace's settings for a queue; a queue nobody set up is always open and waits as long as it takes."""
    queue = Queue.objects.filter(workspace_id=workspace_id, name=name).first()
    return queue or Queue(workspace_id=workspace_id, name=name, open_days=list(range(7)), claim_timeout_s=0)


# --- after commit: tell the inbox, the customer and outside systems ------------------------------
def _to_inbox(workspace_id: int, frame: dict) -> None:
    layer.send_after_commit(frames.group_name(workspace_id), {"type": frames.GROUP_EVENT, "frame": frame})


def _announce(handoff: Handoff, event: str | None = None) -> None:
    """The handoff's new state to the workspace's inbox (and to outside systems for `event`)."""
    workspace_id = handoff.conversation.workspace_id
    _to_inbox(workspace_id, frames.handoff(handoff))
    if event is not None:
        events.emit(
            workspace_id,
            event,
            {
                "handoff_id": handoff.pk,
                "conversation_id": handoff.conversation_id,
                "queue": handoff.queue,
                "status": handoff.status,
                "reason": handoff.reason,
                "agent": agent_name(handoff.assigned_to) or None,
            },
        )


def _deliver(conversation: Conversation, message: Message, outgoing: Outgoing, frame: dict) -> None:
    """Send a stored message on the conversation's own channel, after commit.

    The widget (and the SSE API) get `frame` live through the conversation's group; messaging
    channels get the raw text through the outbox, which sends in order and retries."""
    if conversation.channel in MESSAGING:
        conversation_id, message_id = conversation.pk, message.pk

        def send():
            outbox.put(message_id, outgoing)
            deliver_pending.apply_async(args=[conversation_id], queue=settings.MESSAGING_QUEUE)

        transaction.on_commit(send)
    else:
        broadcast(conversation.pk, frame)
    _to_inbox(conversation.workspace_id, frames.message(message))


def _say(conversation: Conversation, text: str, buttons: list[dict] | None = None) -> Message:
    """A message in the bot's name that is not part of a turn (nobody can answer, welcome back)."""
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.BOT,
        text=redact(text),
        buttons=buttons or [],
        delivery="pending" if conversation.channel in MESSAGING else "",
    )
    _deliver(conversation, message, Outgoing(text=text, buttons=buttons or []), protocol.bot_message(message))
    return message


def _locked(handoff_id: int) -> Handoff:
    return Handoff.objects.select_for_update(of=("self",)).select_related("conversation").get(pk=handoff_id)


# --- the handoff arrives ---------------------------------------------------------------------------
def handoff_opened(handoff_id: int) -> None:
    """Called once the turn that handed off has committed: show it in the inbox, then route it.

    Outside the queue's hours the customer is offered the fallback at once; a round-robin
    queue gives it to the next available agent. A rule that collects contact details has already
    asked for them: the customer's next message answers, as it answers a fallback offer."""
    handoff = Handoff.objects.select_related("conversation", "assigned_to").get(pk=handoff_id)
    _announce(handoff, events.HANDOFF_CREATED)
    queue = queue_for(handoff.conversation.workspace_id, handoff.queue)
    if (handoff.why or {}).get("action") == "collect_contact":
        FallbackOffer.objects.get_or_create(handoff=handoff, defaults={"reason": FallbackOffer.Reason.CONTACT})
    elif not queue.is_open(timezone.now()):
        offer_fallback(handoff_id=handoff_id, reason=FallbackOffer.Reason.CLOSED)
    elif queue.assignment == Queue.Assignment.ROUND_ROBIN:
        auto_assign(handoff_id=handoff_id)


def _assign(handoff: Handoff, agent, *, now: datetime) -> None:
    handoff.status, handoff.assigned_to, handoff.assigned_at = Handoff.Status.ASSIGNED, agent, now
    handoff.save(update_fields=["status", "assigned_to", "assigned_at"])
    AgentStatus.objects.filter(user=agent, workspace_id=handoff.conversation.workspace_id).update(last_assigned_at=now)
    broadcast(handoff.conversation_id, protocol.agent_joined(agent_name(agent)))
    _announce(handoff, events.HANDOFF_ASSIGNED)


def claim(*, handoff: Handoff, agent) -> Handoff:
    """Take a waiting chat. Atomic: of agents claiming at once exactly one wins; the others get
    `already_claimed` with who did."""
    now = timezone.now()
    with transaction.atomic():
        won = Handoff.objects.filter(pk=handoff.pk, status=Handoff.Status.OPEN).update(
            status=Handoff.Status.ASSIGNED, assigned_to=agent, assigned_at=now
        )
        current = Handoff.objects.select_related("conversation", "assigned_to").get(pk=handoff.pk)
        if not won:
            if current.status == Handoff.Status.ASSIGNED and current.assigned_to_id == agent.pk:
                return current
            if current.status == Handoff.Status.ASSIGNED:
                who = agent_name(current.assigned_to)
                raise InboxError("already_claimed", f"{who} has already taken this chat.", claimed_by=who)
            raise InboxError("closed", _closed_sentence(current))
        _assign(current, agent, now=now)
        FallbackOffer.objects.filter(handoff=current, answered_at__isnull=True).update(answered_at=now)
    return current


def auto_assign(*, handoff_id: int) -> Handoff | None:
    """Round robin: the online agent under their chat limit who was given a chat longest ago."""
    now = timezone.now()
    with transaction.atomic():
        handoff = _locked(handoff_id)
        if handoff.status != Handoff.Status.OPEN:
            return None
        workspace_id = handoff.conversation.workspace_id
        load = (
            Handoff.objects.filter(assigned_to=OuterRef("user_id"), status=Handoff.Status.ASSIGNED)
            .filter(conversation__workspace_id=workspace_id)
            .values("assigned_to")
            .annotate(n=Count("id"))
            .values("n")
        )
        candidate = (
            AgentStatus.objects.select_for_update(skip_locked=True)
            .filter(workspace_id=workspace_id, presence=AgentStatus.Presence.ONLINE, user__is_active=True)
            .of_members()
            .annotate(chats=Coalesce(Subquery(load), 0))
            .filter(chats__lt=F("max_chats"))
            .select_related("user")
            .order_by(F("last_assigned_at").asc(nulls_first=True), "id")
            .first()
        )
        if candidate is None:
            return None  # it waits in the queue; the claim timeout still applies
        _assign(handoff, candidate.user, now=now)
    return handoff


# --- the agent works the chat -------------------------------------------------------------------------
def _closed_sentence(handoff: Handoff) -> str:
    return {
        Handoff.Status.RESOLVED: "This conversation was resolved, so it no longer takes replies.",
        Handoff.Status.RETURNED: "This conversation went back to the bot, so it no longer takes replies.",
        Handoff.Status.CALLBACK: "The customer asked to be called back; this chat is closed.",
    }.get(handoff.status, "This chat is closed.")


def _owned(handoff_id: int, agent) -> Handoff:
    handoff = _locked(handoff_id)
    if handoff.status not in LIVE:
        raise InboxError("closed", _closed_sentence(handoff))
    if handoff.status == Handoff.Status.OPEN:
        raise InboxError("not_claimed", "Take this chat first (press Claim), then reply.")
    if handoff.assigned_to_id != agent.pk:
        who = agent_name(handoff.assigned_to)
        raise InboxError("not_yours", f"{who} has this chat. Ask them to transfer it to you.", claimed_by=who)
    return handoff


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InboxError("empty", "Write something first.", status=400)
    if len(text) > MAX_REPLY_CHARS:
        raise InboxError("too_long", f"Messages can be at most {MAX_REPLY_CHARS} characters.", status=400)
    return text


def reply(*, handoff: Handoff, agent, text: str) -> Message:
    """The agent's answer, stored redacted and sent on the customer's own channel."""
    text = _text(text)
    with transaction.atomic():
        handoff = _owned(handoff.pk, agent)
        conversation = handoff.conversation
        message = Message.objects.create(
            conversation=conversation,
            role=Message.Role.AGENT,
            text=redact(text, own_names=(agent_name(agent),)),  # "Hi, I'm Ana" keeps the agent's own name
            author=agent,
            delivery="pending" if conversation.channel in MESSAGING else "",
        )
        if handoff.first_reply_at is None:
            handoff.first_reply_at = message.created_at
            handoff.save(update_fields=["first_reply_at"])
        _deliver(conversation, message, Outgoing(text=text), protocol.agent_message(message, agent_name(agent)))
    return message


def note(*, handoff: Handoff, agent, text: str) -> Message:
    """An internal note: stored and shown to agents, never sent to the customer."""
    text = _text(text)
    with transaction.atomic():
        message = Message.objects.create(
            conversation_id=handoff.conversation_id,
            role=Message.Role.NOTE,
            text=redact(text, own_names=(agent_name(agent),)),
            author=agent,
        )
        _to_inbox(handoff.conversation.workspace_id, frames.message(message))
    return message


def transfer(*, handoff: Handoff, agent, queue: str = "", to_agent=None) -> Handoff:
    """Pass a live chat to another queue (it waits there) or straight to another agent of the workspace."""
    with transaction.atomic():
        handoff = _locked(handoff.pk)
        if handoff.status not in LIVE:
            raise InboxError("closed", _closed_sentence(handoff))
        workspace_id = handoff.conversation.workspace_id
        if to_agent is not None:
            if not workspaces_for(to_agent, INBOX).filter(pk=workspace_id).exists():
                raise InboxError("unknown_agent", "That person is not an agent of this workspace.", status=400)
            if queue:
                handoff.queue = queue
                handoff.save(update_fields=["queue"])
            _assign(handoff, to_agent, now=timezone.now())
            return handoff
        queue = (queue or "").strip()[:60]
        if not queue:
            raise InboxError("no_target", "Choose a queue or an agent to transfer to.", status=400)
        # The wait restarts: `assigned_at` marks when the chat last moved (see expire_unclaimed).
        handoff.queue, handoff.status, handoff.assigned_to = queue, Handoff.Status.OPEN, None
        handoff.assigned_at = timezone.now()
        handoff.save(update_fields=["queue", "status", "assigned_to", "assigned_at"])
        _announce(handoff)
    if queue_for(workspace_id, queue).assignment == Queue.Assignment.ROUND_ROBIN:
        auto_assign(handoff_id=handoff.pk)
    return handoff


def resolve(*, handoff: Handoff, agent) -> Handoff:
    """Close the chat as done. The conversation ends; if the customer writes again, the bot answers."""
    now = timezone.now()
    with transaction.atomic():
        handoff = _locked(handoff.pk)
        if handoff.status not in LIVE:
            raise InboxError("closed", _closed_sentence(handoff))
        handoff.status, handoff.closed_at = Handoff.Status.RESOLVED, now
        handoff.save(update_fields=["status", "closed_at"])
        Conversation.objects.filter(pk=handoff.conversation_id).update(status=Conversation.Status.ENDED, ended_at=now)
        broadcast(handoff.conversation_id, protocol.agent_left(agent_name(agent), "resolved"))
        _announce(handoff, events.HANDOFF_RESOLVED)
    return handoff


def return_to_bot(*, handoff: Handoff, agent) -> Handoff:
    """Give the conversation back to the bot, which answers the next message knowing what was said."""
    with transaction.atomic():
        handoff = _locked(handoff.pk)
        if handoff.status not in LIVE:
            raise InboxError("closed", _closed_sentence(handoff))
        broadcast(handoff.conversation_id, protocol.agent_left(agent_name(agent), "returned"))
        _give_back(handoff, Handoff.Status.RETURNED)
        _announce(handoff, events.HANDOFF_RETURNED)
    async_to_sync(_restore_session)(handoff.conversation_id, handoff.created_at)
    return handoff


def _give_back(handoff: Handoff, status: str) -> None:
    """The handoff closes with `status` and the bot speaks again, saying the queue's welcome back."""
    handoff.status, handoff.closed_at = status, timezone.now()
    handoff.save(update_fields=["status", "closed_at"])
    _bot_speaks_again(handoff.conversation)
    _say(handoff.conversation, queue_for(handoff.conversation.workspace_id, handoff.queue).back_to_bot_message)


def _bot_speaks_again(conversation: Conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.ACTIVE)
    conversation.status = Conversation.Status.ACTIVE


async def _restore_session(conversation_id: int, since: datetime) -> None:
    """The bot's session state: active again, with what the customer and the agents said meanwhile.

    While handed off the engine kept only the customer's messages in the history; they are
    replaced by the stored exchange (redacted, as the history always is), agents' lines marked."""
    from dialogue.db import db

    async with conversation_lock(conversation_id):
        state = await session.load(conversation_id)
        if state is None:
            return  # expired: the next turn starts afresh and reads the status from the database
        exchange = await db(_exchange_since)(conversation_id, since)
        told = sum(1 for m in exchange if m["role"] == "user")
        tail = state.history[-told:] if told else []
        if told and all(m["role"] == "user" for m in tail):
            state.history = state.history[:-told]
        state.history += exchange
        state.status = "active"
        await session.save(conversation_id, state, None)


def _exchange_since(conversation_id: int, since: datetime) -> list[dict]:
    said = (
        Message.objects.filter(conversation_id=conversation_id, created_at__gt=since)
        .exclude(role__in=(Message.Role.NOTE, Message.Role.SYSTEM))
        .select_related("author")
        .order_by("created_at", "id")
    )
    return [
        {"role": "user", "content": m.text}
        if m.role == Message.Role.USER
        else {
            "role": "assistant",
            "content": f"(support agent {agent_name(m.author)}) {m.text}" if m.role == Message.Role.AGENT else m.text,
        }
        for m in said
    ]


def set_presence(*, agent, workspace_id: int, presence: str) -> AgentStatus:
    if presence not in AgentStatus.Presence.values:
        raise InboxError("bad_presence", "Presence is online, away or offline.", status=400)
    with transaction.atomic():
        status, _ = AgentStatus.objects.select_for_update().get_or_create(user=agent, workspace_id=workspace_id)
        status.presence = presence
        status.save(update_fields=["presence", "updated_at"])
        _to_inbox(workspace_id, frames.presence(status))
    return status


# --- the customer writes while handed off ---------------------------------------------------------------
def user_wrote(conversation_id: int, message_id: int, raw_text: str) -> None:
    """After the turn that stored it commits: the agents see the message live; an open fallback
    offer reads it as the customer's answer (a way to call them back, or back to the bot)."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    conversation = message.conversation
    _to_inbox(conversation.workspace_id, frames.message(message))
    offer = (
        FallbackOffer.objects.filter(
            handoff__conversation_id=conversation_id, handoff__status=Handoff.Status.OPEN, answered_at__isnull=True
        )
        .order_by("-id")
        .first()
    )
    if offer is not None:
        answer_offer(offer_id=offer.pk, text=raw_text)


def offer_fallback(*, handoff_id: int, reason: str) -> None:
    """Nobody can answer: tell the customer honestly and offer the queue's fallback."""
    with transaction.atomic():
        handoff = _locked(handoff_id)
        if handoff.status != Handoff.Status.OPEN or FallbackOffer.objects.filter(handoff=handoff).exists():
            return
        conversation = handoff.conversation
        queue = queue_for(conversation.workspace_id, handoff.queue)
        why = queue.closed_message if reason == FallbackOffer.Reason.CLOSED else queue.busy_message
        FallbackOffer.objects.create(handoff=handoff, reason=reason)
        if queue.fallback == Queue.Fallback.BOT:
            _say(conversation, why)
            _give_back(handoff, Handoff.Status.RETURNED)
            _announce(handoff, events.HANDOFF_RETURNED)
        else:
            _say(conversation, f"{why} {queue.callback_prompt}", [{"title": CONTINUE, "payload": CONTINUE}])
            _to_inbox(conversation.workspace_id, frames.handoff(handoff))


def answer_offer(*, offer_id: int, text: str) -> None:
    """The customer's answer to a fallback offer: an email or phone number opens a callback ticket;
    "continue" gives the conversation back to the bot; anything else is asked again."""
    text = (text or "").strip()
    with transaction.atomic():
        offer = FallbackOffer.objects.select_for_update().get(pk=offer_id)
        handoff = _locked(offer.handoff_id)
        if offer.answered_at is not None or handoff.status != Handoff.Status.OPEN:
            return
        conversation = handoff.conversation
        queue = queue_for(conversation.workspace_id, handoff.queue)
        if text.lower() in (CONTINUE.lower(), "continue", "bot"):
            offer.answered_at = timezone.now()
            offer.save(update_fields=["answered_at"])
            _give_back(handoff, Handoff.Status.RETURNED)
            _announce(handoff, events.HANDOFF_RETURNED)
            return
        contact = _contact(text)
        if contact is None:
            _say(
                conversation,
                "That doesn't look like an email address or a phone number. Please type it like "
                f"name@example.com or +1 415 555 0100, or choose “{CONTINUE}”.",
                [{"title": CONTINUE, "payload": CONTINUE}],
            )
            return
        kind, value = contact
        ticket = close_as_callback(handoff=handoff, kind=kind, contact=value)
        offer.answered_at = timezone.now()
        offer.save(update_fields=["answered_at"])
        _bot_speaks_again(conversation)
        _say(conversation, queue.callback_thanks.replace("{contact}", ticket.contact_masked))


def close_as_callback(*, handoff: Handoff, kind: str, contact: str) -> Ticket:
    """Nobody could answer and the customer left a way to reach them (a chat's fallback offer, an
    unanswered phone transfer): a callback ticket with the contact encrypted, the handoff closed as
    a callback, and the inbox told. The caller holds the handoff's row lock."""
    ticket = Ticket(workspace_id=handoff.conversation.workspace_id, handoff=handoff, queue=handoff.queue, kind=kind)
    ticket.set_contact(contact)
    ticket.save()
    handoff.status, handoff.closed_at = Handoff.Status.CALLBACK, timezone.now()
    handoff.save(update_fields=["status", "closed_at"])
    _announce(handoff)
    return ticket


def _contact(text: str) -> tuple[str, str] | None:
    email = _EMAIL.search(text)
    if email:
        return Ticket.Kind.EMAIL, email.group().lower()
    if _PHONE.match(text):
        digits = re.sub(r"[^\d+]", "", text)
        if 7 <= len(digits.lstrip("+")) <= 15:
            return Ticket.Kind.PHONE, digits
    return None


def expire_unclaimed(*, now: datetime | None = None) -> int:
    """Offer the fallback on every chat nobody took within its queue's claim timeout (Celery beat).

    The wait counts from when the chat last moved: created, or transferred to its queue."""
    now = now or timezone.now()
    offered = 0
    for queue in Queue.objects.filter(claim_timeout_s__gt=0):
        waiting = (
            Handoff.objects.filter(
                conversation__workspace_id=queue.workspace_id, queue=queue.name, status=Handoff.Status.OPEN
            )
            .filter(~Q(fallback_offer__isnull=False))
            .annotate(since=Greatest("created_at", Coalesce("assigned_at", "created_at")))
            .filter(since__lte=now - timedelta(seconds=queue.claim_timeout_s))
            .values_list("pk", flat=True)
        )
        for handoff_id in list(waiting):
            offer_fallback(handoff_id=handoff_id, reason=FallbackOffer.Reason.TIMEOUT)
            offered += 1
    return offered
