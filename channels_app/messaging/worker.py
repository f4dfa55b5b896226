"""A messaging turn on a Celery worker: one inbound message in, the bot's replies out.

Safe to run twice for the same message (a redelivered task, a worker killed mid-turn): the
user's stored message carries the platform's id, so a turn that already ran is not run again
and only what is still pending is sent.
"""

from __future__ import annotations

import json
import logging

from analytics import csat
from channels_app.messaging import intake, outbox
from channels_app.messaging.base import Incoming, Outgoing, adapter_for
from channels_app.models import ChannelThread
from channels_app.services import Chat, chat_for_bot
from config.redis_clients import async_client
from conversations.models import Conversation, Delivery, Message
from conversations.redaction import redact
from conversations.services import conversation_start
from dialogue.db import db
from dialogue.events import End, Inbound, MessageDone
from dialogue.turn import TurnBusy, run_turn

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side. Please try again."


async def handle(connection_id: int, event_id: str) -> str:
    """Answer one accepted inbound message. Returns what happened, for the task's result."""
    raw = await async_client().get(intake.raw_key(connection_id, event_id))
    if raw is None:  # answered (a redelivered task), or left unanswered for a day
        await db(intake.expire)(connection_id, event_id)
        return "nothing to answer"
    if not await db(intake.switched_on)(connection_id):
        # Switched off or deleted after the webhook let the message through: nobody answers there now.
        await db(intake.expire)(connection_id, event_id, error=intake.SWITCHED_OFF)
        await async_client().delete(intake.raw_key(connection_id, event_id))
        return "channel off"
    item = Incoming(**json.loads(raw))
    recorded = await db(intake.record)(connection_id, item)
    event = await db(intake.claim)(recorded.pk)
    if event is None:
        return "already handled"
    connection = event.connection
    if csat.score(item.payload) is not None:  # a tap on the rating question: recorded, no turn
        return await _rated(event, item)
    chat = await chat_for_bot(connection.bot)
    if isinstance(chat, str):
        await _finish(event, item, error="The bot is not published: publish it to answer on this channel.")
        return chat
    conversation, new = await db(_conversation_for)(event.thread, chat, connection.kind)
    owner = f"inbound:{event.pk}"
    try:
        if not await db(_answered)(conversation.pk, item.event_id):
            prepared = await adapter_for(connection.kind).prepare(connection, item)
            if isinstance(prepared, Outgoing):
                await db(_store_direct_reply)(conversation.pk, item, prepared)
            else:
                if new:
                    await _turn(conversation, chat, Inbound(kind="event", event="conversation_started"), owner, None)
                    # The greeting goes out first: a streamed answer is posted while it is written.
                    await outbox.deliver_pending(conversation.pk, owner=owner)
                streamer = adapter_for(connection.kind).streamer(connection, event.thread.address)
                ended = await _turn(conversation, chat, prepared, owner, streamer)
                if ended and connection.kind in csat.CHANNELS:
                    await db(_store_direct_reply)(conversation.pk, item, Outgoing(csat.QUESTION, csat.BUTTONS))
    except TurnBusy:
        raise  # the task retries: another message of this conversation is still being answered
    except Exception:
        log.exception("messaging turn failed", extra={"conversation_id": conversation.pk})
        await db(_store_direct_reply)(conversation.pk, item, Outgoing(text=APOLOGY))
        await outbox.deliver_pending(conversation.pk, owner=owner)
        await _finish(event, item, error="The turn failed; the person was sent an apology.")
        return "failed"
    await outbox.deliver_pending(conversation.pk, owner=owner)
    await _finish(event, item)
    return "answered"


async def _finish(event, item: Incoming, *, error: str = "") -> None:
    """The event is over (answered or failed): the raw message, which may hold personal data, goes."""
    await db(intake.finish)(event, error=error)
    await async_client().delete(intake.raw_key(event.connection_id, item.event_id))


async def _rated(event, item: Incoming) -> str:
    conversation_id = event.thread.conversation_id
    if await db(csat.record)(conversation_id, item.payload):
        await db(_store_direct_reply)(conversation_id, item, Outgoing(text=csat.THANKS))
        await outbox.deliver_pending(conversation_id, owner=f"inbound:{event.pk}")
    await _finish(event, item)
    return "rated"


async def _turn(conversation: Conversation, chat: Chat, inbound: Inbound, owner: str, streamer) -> bool:
    """Run the turn and queue its replies; True when the bot ended the conversation."""
    replies: list[Outgoing] = []
    saved: list[int] = []
    ended = False
    async for event in run_turn(
        conversation, chat.snapshot, inbound, lock_owner=owner, delivery=Delivery.PENDING, on_saved=saved.extend
    ):
        if streamer is not None:
            await streamer.on_event(event)
        ended = ended or isinstance(event, End)
        if isinstance(event, MessageDone):
            replies.append(
                Outgoing(text=event.text, buttons=event.buttons, citations=[c.__dict__ for c in event.citations])
            )
    if streamer is not None:
        for reply, posted in zip(replies, streamer.streamed, strict=False):
            reply.replace = posted
    for message_id, reply in zip(saved, replies, strict=False):
        outbox.put(message_id, reply)
    return ended


def _conversation_for(thread: ChannelThread, chat: Chat, channel: str) -> tuple[Conversation, bool]:
    """The thread's open conversation, or a new one (the first message, or after the last one ended)."""
    conversation = (
        Conversation.objects.filter(pk=thread.conversation_id).exclude(status=Conversation.Status.ENDED).first()
    )
    if conversation is not None:
        return conversation, False
    conversation = conversation_start(
        bot=chat.bot,
        channel=channel,
        contact_id=thread.contact_id,
        bot_version_id=chat.version_id,
        metadata={"thread_id": thread.pk},
    )
    ChannelThread.objects.filter(pk=thread.pk).update(conversation=conversation)
    return conversation, True


def _answered(conversation_id: int, ref: str) -> bool:
    return Message.objects.filter(conversation_id=conversation_id, role=Message.Role.USER, external_id=ref).exists()


def _store_direct_reply(conversation_id: int, item: Incoming, reply: Outgoing) -> None:
    """Record a message that needs no turn (media the bot cannot read, an apology) and queue its reply."""
    rows = []
    if not _answered(conversation_id, item.event_id):
        rows.append(
            Message(
                conversation_id=conversation_id,
                role=Message.Role.USER,
                text=redact(item.text) or f"[{item.kind}]",
                external_id=item.event_id,
            )
        )
    bot = Message(conversation_id=conversation_id, role=Message.Role.BOT, text=redact(reply.text), delivery="pending")
    Message.objects.bulk_create([*rows, bot])
    outbox.put(bot.pk, reply)
