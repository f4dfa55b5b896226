"""Web chat: opening a chat with a bot by its public key, starting or resuming a conversation,
running a turn through the dialogue engine as protocol frames, and live frames to a conversation.

The WebSocket consumer and the REST/SSE API both go through these functions, so the two
channels behave the same.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from asgiref.sync import sync_to_async
from django.conf import settings

from bots.models import Bot
from bots.schema import BotSnapshot
from bots.selectors import NotPublished, apublished_snapshot
from channels_app import identity, layer, protocol, ratelimit
from channels_app.tokens import conversation_token, read_token
from conversations.models import Conversation, Message
from conversations.services import conversation_start
from dialogue.events import Inbound
from dialogue.turn import TurnBusy, run_turn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chat:
    """A published bot as a chat channel serves it."""

    bot: Bot
    version_id: int
    snapshot: BotSnapshot
    identity_secret: str = ""  # the web connection's: proves who a public caller is (see identity.py)


async def open_chat(public_key: str) -> Chat | str:
    """The bot behind a public key with its published snapshot, or an error code of `protocol.ERRORS`."""
    bot = await Bot.objects.filter(public_key=public_key).select_related("workspace").afirst()
    if bot is None:
        return "unknown_bot"
    return await open_web_chat(bot)


async def open_web_chat(bot: Bot) -> Chat | str:
    """The bot as the widget and the chat API serve it: refused while its web connection is switched off."""
    access = await identity.web_access(bot.id)
    if not access.switched_on:
        return "channel_off"
    chat = await chat_for_bot(bot)
    return chat if isinstance(chat, str) else replace(chat, identity_secret=access.identity_secret)


async def chat_for_bot(bot: Bot) -> Chat | str:
    try:
        version, snapshot = await apublished_snapshot(bot.id)
    except NotPublished:
        return "not_published"
    return Chat(bot=bot, version_id=version.id, snapshot=snapshot)


def token_for(conversation: Conversation) -> str:
    return conversation_token(conversation.id, conversation.bot_id)


def verified_contact(chat: Chat, contact_id: str, signature: str) -> str:
    """The contact a public caller proved with the site's signature, or "" (anonymous)."""
    return identity.verified_contact(chat.identity_secret, contact_id, signature)


async def resume(chat: Chat, token: str, *, contact_id: str = "") -> Conversation | None:
    """The open conversation a valid token names, if it is the same contact's (or both anonymous):
    a browser shared after a logout or by another user must not reopen someone else's chat."""
    conversation_id = read_token(token, chat.bot.id)
    if conversation_id is None:
        return None
    return (
        await Conversation.objects.filter(id=conversation_id, bot_id=chat.bot.id, contact_id=contact_id)
        .exclude(status=Conversation.Status.ENDED)
        .afirst()
    )


async def resume_or_start(
    chat: Chat, token: str, *, channel: str, contact_id: str, ip: str, key: str
) -> tuple[Conversation, bool] | int:
    """The conversation a valid token names (and True), else a new one (and False); or, when the
    caller has started too many lately, the seconds to wait (see `wait_before_starting`)."""
    conversation = await resume(chat, token, contact_id=contact_id)
    if conversation is not None:
        return conversation, True
    wait = await wait_before_starting(chat, ip=ip, key=key, contact_id=contact_id)
    if wait:
        return wait
    return await start_conversation(chat, channel=channel, contact_id=contact_id), False


async def wait_before_starting(chat: Chat, *, ip: str, key: str, contact_id: str = "") -> int:
    """Seconds this caller must wait before starting another conversation (0: it may now).

    Counted per client address, per key (a workspace API key or the bot's public key), per
    contact and per bot, across every process: a script cannot flood a bot, or one contact's
    history, with conversations."""
    limits = [
        (f"conv-ip:{ip}", settings.CHAT_CONVERSATIONS_PER_MINUTE_IP),
        (f"conv-key:{key}", settings.CHAT_CONVERSATIONS_PER_MINUTE_KEY),
        (f"conv-bot:{chat.bot.id}", settings.CHAT_CONVERSATIONS_PER_MINUTE_BOT),
    ]
    if contact_id:
        limits.append(
            (f"conv-contact:{chat.bot.workspace_id}:{contact_id}", settings.CHAT_CONVERSATIONS_PER_MINUTE_CONTACT)
        )
    return max([await ratelimit.aretry_after(name, limit=limit) for name, limit in limits])


async def start_conversation(chat: Chat, *, channel: str, contact_id: str = "") -> Conversation:
    return await sync_to_async(conversation_start)(
        bot=chat.bot, channel=channel, contact_id=contact_id, bot_version_id=chat.version_id
    )


async def messages_after(conversation: Conversation, after: int) -> list[Message]:
    """What the customer may see again: agents' internal notes are never sent."""
    query = (
        Message.objects.filter(conversation_id=conversation.id, id__gt=after)
        .exclude(role=Message.Role.NOTE)
        .select_related("author")
        .order_by("id")
    )
    return [m async for m in query[: protocol.HISTORY_LIMIT]]


async def last_message_id(conversation: Conversation) -> int | None:
    return (
        await Message.objects.filter(conversation_id=conversation.id)
        .order_by("-id")
        .values_list("id", flat=True)
        .afirst()
    )


async def turn_frames(
    chat: Chat, conversation: Conversation, inbound: Inbound, *, saved: list[int] | None = None
) -> AsyncIterator[dict]:
    """Run one turn of the dialogue engine and yield the frames a chat client shows; the ids of
    the bot's stored messages are added to `saved`.

    A failure inside the engine ends the turn with an error frame rather than an exception, so
    the socket or the SSE stream stays usable (the engine already turns vendor outages into
    apologies; this is the last line for our own bugs)."""
    try:
        async for event in run_turn(
            conversation=conversation,
            snapshot=chat.snapshot,
            inbound=inbound,
            on_saved=saved.extend if saved is not None else None,
        ):
            frame = protocol.event_frame(event)
            if frame is not None:
                yield frame
    except TurnBusy:  # another tab or API call of this conversation holds the turn
        yield protocol.error("busy", turn=True)
    except Exception:
        logger.exception("chat turn failed")
        yield protocol.error("turn_failed", turn=True)


def broadcast(conversation_id: int, frame: dict) -> None:
    """Send a frame to every socket showing this conversation, in any process, after commit.

    For other parts (the agent inbox): e.g. `broadcast(c.id, protocol.agent_message(m, "Dana"))`.
    """

    layer.send_after_commit(protocol.group_name(conversation_id), {"type": protocol.GROUP_EVENT, "frame": frame})
