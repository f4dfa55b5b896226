"""Twilio's media stream for one call (bidirectional `<Connect><Stream>`).

Thin: parses Twilio's JSON messages and hands them to the call's `CallPipeline`, which lives as
long as this socket. A malformed or unknown message is logged and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging

import orjson
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from channels_app.dispatch import without_db_check
from config.logging import bind
from voice import services
from voice.pipeline import CallPipeline

log = logging.getLogger(__name__)


class MediaStreamConsumer(AsyncWebsocketConsumer):
    pipeline: CallPipeline | None = None
    gone = False  # the socket is closed: nothing more can be sent

    async def __call__(self, scope, receive, send):
        # The socket is a call's only source of messages: nothing reaches a call through the
        # channel layer, whose subscription and two-source wait would cost a task and an
        # `asyncio.wait` on every frame.
        self.scope, self.channel_layer, self.base_send = scope, None, send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def connect(self):
        await self.accept()

    async def dispatch(self, message):
        await without_db_check(self, message)  # 50 messages a second: see channels_app.dispatch

    async def disconnect(self, code):
        await self._stop_pipeline()

    async def _stop_pipeline(self):
        self.gone = True
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            await pipeline.stop()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            # 50 messages a second per call: orjson parses and writes them in a fraction of json's time.
            message = orjson.loads(text_data or "")
            handler = HANDLERS[message["event"]]
        except (ValueError, KeyError, TypeError):
            log.warning("skipped a malformed or unknown media-stream message")
            return
        try:
            await handler(self, message)
        except (KeyError, TypeError, ValueError, binascii.Error):
            log.warning("skipped a malformed %s message", message.get("event"))

    async def send_json(self, message: dict) -> None:
        if self.gone:
            return
        try:
            await self.send(text_data=orjson.dumps(message).decode())
        except OSError:  # the caller hung up while we were talking: stop, quietly
            self.gone = True
            asyncio.get_running_loop().create_task(self._stop_pipeline())

    async def on_connected(self, message):
        pass

    async def on_start(self, message):
        if self.pipeline is not None:
            return
        start = message["start"]
        params = start.get("customParameters") or {}
        try:
            ctx = await database_sync_to_async(services.stream_open)(
                token=params.get("token", ""), call_sid=start["callSid"], stream_sid=start["streamSid"]
            )
        except services.BadStreamToken:
            log.warning("refused a media stream with a bad token")
            await self.close(code=4403)
            return
        bind(bot_id=ctx.bot_id, conversation_id=ctx.conversation_id, workspace_id=ctx.workspace_id, call_id=ctx.call_id)
        self.pipeline = CallPipeline(ctx, stream_sid=start["streamSid"], send=self.send_json)
        await self.pipeline.start()

    async def on_media(self, message):
        if self.pipeline is not None and message["media"].get("track", "inbound") == "inbound":
            await self.pipeline.on_audio(base64.b64decode(message["media"]["payload"], validate=True))

    async def on_mark(self, message):
        if self.pipeline is not None:
            self.pipeline.on_mark(message["mark"]["name"])

    async def on_dtmf(self, message):
        digit = message["dtmf"]["digit"]
        if self.pipeline is not None and digit in "0123456789*#" and len(digit) == 1:
            await self.pipeline.on_dtmf(digit)

    async def on_stop(self, message):
        # Stop at once: after our close, the server does not always deliver websocket.disconnect.
        await self._stop_pipeline()
        await self.close()


HANDLERS = {
    "connected": MediaStreamConsumer.on_connected,
    "start": MediaStreamConsumer.on_start,
    "media": MediaStreamConsumer.on_media,
    "mark": MediaStreamConsumer.on_mark,
    "dtmf": MediaStreamConsumer.on_dtmf,
    "stop": MediaStreamConsumer.on_stop,
}
