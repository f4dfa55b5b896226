"""The widget's WebSocket: `ws/chat/<public_key>/`. Frames are defined in `protocol.py`.

The consumer only translates: it checks who may talk (public key, Origin, limits), hands each
user message to the dialogue engine, and writes the engine's events straight to its own socket
(the channel layer is only for messages from other processes, such as an agent's reply).
"""

from __future__ import annotations

import asyncio

import orjson
from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from pydantic import ValidationError

from analytics import services as analytics
from channels_app import protocol, ratelimit, services
from channels_app.coalesce import DeltaCoalescer
from channels_app.dispatch import without_db_check
from channels_app.origins import origin_allowed
from channels_app.sockets import DropsFramesAfterClose
from config import metrics, telemetry
from dialogue import gateway
from dialogue.events import Inbound


class ChatConsumer(DropsFramesAfterClose, AsyncJsonWebsocketConsumer):
    # Every streamed piece of an answer is a frame: orjson writes them in a fraction of json's time.
    @classmethod
    async def encode_json(cls, content) -> str:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS).decode()

    async def connect(self):
        # Accept first: a refused handshake tells a browser nothing, an error frame says why.
        await self.accept()
        metrics.SOCKETS.inc()
        self.chat = None
        self.conversation = None
        self.turn: asyncio.Task | None = None
        self.ip = (self.scope.get("client") or ("unknown",))[0]
        self.window = ratelimit.LocalWindow(settings.CHAT_CONNECTION_MESSAGES_PER_MINUTE)
        if not await ratelimit.aallow(f"ws-connect:{self.ip}", limit=settings.CHAT_IP_CONNECTIONS_PER_MINUTE):
            return await self.refuse("too_many_connections")
        key = self.scope["url_route"]["kwargs"]["public_key"]
        chat = await services.open_chat(key)
        if isinstance(chat, str):
            return await self.refuse(chat)
        headers = dict(self.scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin_allowed(origin, chat.snapshot.widget.allowed_origins):
            return await self.refuse("origin_not_allowed")
        self.chat = chat

    async def refuse(self, code: str):
        await self.send_json(protocol.error(code))
        await self.close(code=4403)

    async def disconnect(self, code):
        metrics.SOCKETS.dec()
        if self.turn is not None:
            self.turn.cancel()  # the engine records what was delivered, marked interrupted
        if self.conversation is not None:
            await self.channel_layer.group_discard(protocol.group_name(self.conversation.id), self.channel_name)

    async def dispatch(self, message):
        if message["type"] == "websocket.receive":
            # A message's turn looks after its own database connections (channels_app.dispatch);
            # starting a conversation checks them itself.
            return await without_db_check(self, message)
        await super().dispatch(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.chat is None:
            return
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > protocol.MAX_FRAME_BYTES:
            return await self.send_json(protocol.error("message_too_long", turn=True))
        if not self.window.allow() or not await ratelimit.aallow(
            f"chat-ip:{self.ip}", limit=settings.CHAT_IP_MESSAGES_PER_MINUTE
        ):
            return await self.send_json(protocol.error("rate_limited", turn=True))
        try:
            frame = protocol.ClientFrame.validate_python(orjson.loads(raw))
        except (ValueError, ValidationError):
            return await self.send_json(protocol.error("bad_frame"))
        await self.handlers[frame.type](self, frame)

    async def on_start(self, frame: protocol.Start):
        if self.conversation is not None:
            return await self.send_json(protocol.error("bad_frame"))
        await aclose_old_connections()  # the ORM is used directly below
        contact = services.verified_contact(self.chat, frame.contact_id, frame.contact_signature)
        if frame.contact_id and not contact:
            await self.send_json(protocol.error("identity_not_verified"))
        opened = await services.resume_or_start(
            self.chat, frame.token, channel="web", contact_id=contact, ip=self.ip, key=f"bot:{self.chat.bot.id}"
        )
        if isinstance(opened, int):
            return await self.send_json(protocol.error("too_many_conversations", retry_after=opened))
        conversation, resumed = opened
        self.conversation = conversation
        # While the person reads the greeting and types, the LLM host gets connected (held: a
        # task the loop alone references can be collected before it finishes).
        self.warming = asyncio.create_task(gateway.warm())
        await self.channel_layer.group_add(protocol.group_name(conversation.id), self.channel_name)
        token = services.token_for(conversation)
        await self.send_json(
            protocol.ready(conversation_id=conversation.id, token=token, resumed=resumed, status=conversation.status)
        )
        if resumed:
            await self.send_json(protocol.history(await services.messages_after(conversation, frame.after)))
        else:
            self.turn = asyncio.create_task(self.run_turn(Inbound(kind="event", event="conversation_started")))

    async def on_message(self, frame: protocol.Say):
        if len(frame.text) > protocol.MAX_TEXT_CHARS:
            return await self.send_json(protocol.error("message_too_long", turn=True))
        await self.start_turn(Inbound(kind="text", text=frame.text))

    async def on_button(self, frame: protocol.Press):
        await self.start_turn(Inbound(kind="button", text=frame.title, payload=frame.payload or frame.title))

    async def on_ping(self, frame: protocol.Ping):
        await self.send_json({"type": "pong"})

    async def on_rating(self, frame: protocol.Rate):
        if self.conversation is None:
            return await self.send_json(protocol.error("not_started"))
        try:
            score, source = analytics.rating_score(score=frame.score, thumbs=frame.thumbs)
        except ValueError:
            return await self.send_json(protocol.error("bad_rating"))
        await database_sync_to_async(analytics.conversation_rate)(
            conversation=self.conversation, score=score, source=source
        )
        await self.send_json({"type": "rated", "score": score})

    handlers = {"start": on_start, "message": on_message, "button": on_button, "ping": on_ping, "rating": on_rating}

    async def start_turn(self, inbound: Inbound):
        if self.conversation is None:
            return await self.send_json(protocol.error("not_started", turn=True))
        if self.turn is not None and not self.turn.done():
            return await self.send_json(protocol.error("busy", turn=True))
        self.turn = asyncio.create_task(self.run_turn(inbound))

    @telemetry.traced("websocket.turn", lambda self, inbound: {"switchboard.conversation_id": self.conversation.id})
    async def run_turn(self, inbound: Inbound):
        coalescer = DeltaCoalescer(self._send_delta, protocol.COALESCE_S)
        saved: list[int] = []
        try:
            async for frame in services.turn_frames(self.chat, self.conversation, inbound, saved=saved):
                if frame["type"] == "text_delta":
                    await coalescer.add(frame["text"])
                else:
                    await coalescer.flush()
                    await self.send_json(frame)
            await coalescer.flush()
            # The turn reports the ids it stored; only a turn the bot stayed quiet in asks the database.
            last = saved[-1] if saved else await services.last_message_id(self.conversation)
            await self.send_json(protocol.done(last))
        finally:
            coalescer.close()

    async def _send_delta(self, text: str):
        await self.send_json({"type": "text_delta", "text": text})

    async def chat_frame(self, event):
        """A frame from another process (an agent's message, a status change): forward it as is."""
        await self.send_json(event["frame"])
