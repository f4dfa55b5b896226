"""Streaming speech-to-text adapters: caller audio in, `SttEvent`s out (one async generator each).

Deepgram live through `deepgram-sdk` 7 (facts: ../shared/reference/deepgram.md): the SDK's socket
client speaks the protocol; the WebSocket URL comes from a custom `DeepgramClientEnvironment` so
`DEEPGRAM_BASE_URL` can point at a proxy or a compatible server. A close we did not ask for raises
`SttDisconnected`; the pipeline decides whether to reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

from deepgram import DeepgramClientEnvironment
from deepgram.listen.v1.socket_client import AsyncV1SocketClient
from deepgram.listen.v1.types import ListenV1Results, ListenV1SpeechStarted, ListenV1UtteranceEnd
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bots.schema import VoiceSettings
from config import tls

log = logging.getLogger(__name__)

KEEPALIVE_S = 4  # Deepgram closes an idle stream after ~10 s without audio or KeepAlive
# Put on the audio queue, it asks the provider for the final transcript of the audio sent so far
# now, rather than after its endpointing pause (Deepgram's `Finalize`).
FINALIZE = object()


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class Transcript:
    text: str
    is_final: bool
    speech_final: bool  # endpointing saw the end of the caller's turn
    from_finalize: bool = False  # answers a FINALIZE: the audio so far, not a turn's end


@dataclass(frozen=True)
class UtteranceEnd:
    pass


SttEvent = SpeechStarted | Transcript | UtteranceEnd


class SttDisconnected(Exception):
    """The provider refused or dropped the stream."""


def deepgram_environment() -> DeepgramClientEnvironment:
    """Deepgram's URLs (REST and WebSocket), or those of the server `DEEPGRAM_BASE_URL` names."""
    base = settings.DEEPGRAM_BASE_URL
    if not base:
        return DeepgramClientEnvironment.PRODUCTION
    ws = base.replace("https://", "wss://").replace("http://", "ws://").rstrip("/")
    return DeepgramClientEnvironment(base=base.rstrip("/"), production=ws, agent=ws, agent_rest=base.rstrip("/"))


@contextlib.asynccontextmanager
async def _listen(voice: VoiceSettings) -> AsyncIterator[AsyncV1SocketClient]:
    """The SDK's live socket client on a connection opened without per-message compression.

    The SDK's own `listen.v1.connect` offers permessage-deflate and has no option against it:
    deflating mu-law audio shrinks it little and costs ~15 µs of CPU on every 20 ms frame.
    """
    query = {
        "model": voice.stt_model,
        "language": voice.stt_language,
        "encoding": "mulaw",
        "sample_rate": 8000,
        "channels": 1,
        "interim_results": "true",
        "endpointing": voice.endpointing_ms,
        "utterance_end_ms": voice.utterance_end_ms,
        "smart_format": "true",
        "punctuate": "true",
        "vad_events": "true",
    }
    url = f"{deepgram_environment().production}/v1/listen?{urlencode(query)}"
    headers = {"Authorization": f"Token {settings.DEEPGRAM_API_KEY}"}
    # A shared TLS context: left to `websockets`, every call would load the trusted certificates.
    tls_context = {"ssl": tls.for_websockets()} if url.startswith("wss://") else {}
    async with connect(url, additional_headers=headers, compression=None, open_timeout=10, **tls_context) as websocket:
        yield AsyncV1SocketClient(websocket=websocket)


async def deepgram_stream(voice: VoiceSettings, audio: asyncio.Queue) -> AsyncIterator[SttEvent]:
    """Transcribe mu-law 8 kHz frames taken from `audio` (None ends the stream, FINALIZE asks for
    the final transcript of what was sent so far)."""
    closing = False
    try:
        async with _listen(voice) as conn:
            last_sent = time.monotonic()

            async def keep_alive():
                # Its own task: a timeout around every frame's queue read costs a task per frame.
                while True:
                    await asyncio.sleep(KEEPALIVE_S)
                    if time.monotonic() - last_sent >= KEEPALIVE_S:
                        await conn.send_keep_alive()

            async def pump():
                nonlocal closing, last_sent
                while True:
                    frame = await audio.get()
                    last_sent = time.monotonic()
                    # Frames that queued up while we were sending go out as one message:
                    # fewer, larger sends when busy, no added delay when not.
                    batch = [frame]
                    while frame is not None and frame is not FINALIZE and not audio.empty():
                        frame = audio.get_nowait()
                        batch.append(frame)
                    chunk = b"".join(f for f in batch if isinstance(f, bytes))
                    if chunk:
                        await conn.send_media(chunk)  # never empty: b"" would end the stream
                    if frame is FINALIZE:
                        await conn.send_finalize()
                    elif frame is None:
                        closing = True
                        await conn.send_close_stream()
                        return

            helpers = [asyncio.create_task(pump()), asyncio.create_task(keep_alive())]
            try:
                async for msg in conn:
                    if isinstance(msg, ListenV1Results):
                        alt = msg.channel.alternatives[0] if msg.channel.alternatives else None
                        if alt is not None and alt.transcript:
                            yield Transcript(
                                alt.transcript, bool(msg.is_final), bool(msg.speech_final), bool(msg.from_finalize)
                            )
                        elif msg.speech_final or msg.from_finalize:
                            yield Transcript("", True, bool(msg.speech_final), bool(msg.from_finalize))
                    elif isinstance(msg, ListenV1SpeechStarted):
                        yield SpeechStarted()
                    elif isinstance(msg, ListenV1UtteranceEnd):
                        yield UtteranceEnd()
            finally:
                for task in helpers:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await task
    except (InvalidHandshake, ConnectionClosed, OSError) as exc:
        if not closing:
            raise SttDisconnected(type(exc).__name__) from exc
        return
    if not closing:
        raise SttDisconnected("closed by the provider")


STT_PROVIDERS = {"deepgram": deepgram_stream}
