"""The bot's mouth on one call: sentences in, Twilio `media` + `mark` messages out.

Each sentence's synthesis starts as soon as the sentence is known, so the next one is ready
while the previous one plays; audio is still sent strictly in order, with a `mark` after each
sentence. Twilio echoes a mark only once the audio before it has played, so returned marks tell
us what the caller actually heard — after a barge-in only those sentences count as said.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from bots.schema import VoiceSettings
from voice import tts

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """Monotonic timestamps of one turn, from the end of the caller's speech to the first audio."""

    started_at: datetime = field(default_factory=timezone.now)  # wall clock, to find the turn's records
    speech_end: float | None = None
    transcript: float | None = None
    turn_start: float | None = None
    tts_requested: float | None = None
    tts_first_byte: float | None = None
    first_audio: float | None = None

    def figures(self) -> dict:
        """Our clock's figures; the LLM's own time comes from the engine's records (services)."""

        def ms(a, b):
            return round((b - a) * 1000, 2) if a is not None and b is not None else None

        return {
            "stt_ms": ms(self.speech_end, self.transcript),
            "tts_first_byte_ms": ms(self.tts_requested, self.tts_first_byte),
            "first_audio_ms": ms(self.speech_end or self.turn_start, self.first_audio),
        }


_reply_ids = itertools.count(1)


@dataclass
class Reply:
    """What the bot set out to say in one turn, and which sentences reached the caller's ear."""

    id: int = field(default_factory=lambda: next(_reply_ids))
    sentences: list[str] = field(default_factory=list)
    heard: list[bool] = field(default_factory=list)

    def heard_text(self) -> str:
        return " ".join(s for s, h in zip(self.sentences, self.heard, strict=True) if h)


class Speaker:
    def __init__(self, send, *, stream_sid: str, voice: VoiceSettings, version_key: str):
        self._send = send
        self.stream_sid = stream_sid
        self.voice = voice
        self.version_key = version_key
        self._outstanding: dict[str, tuple[Reply, int]] = {}  # marks sent, not yet echoed
        self._sending = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.last_idle_at = time.monotonic()

    @property
    def speaking(self) -> bool:
        """Audio is being sent or is still buffered at Twilio, unplayed."""
        return bool(self._outstanding) or self._sending > 0

    async def play(self, reply: Reply, sentences: asyncio.Queue, timing: Timing | None = None, *, cache=False):
        """Speak each sentence put on `sentences` (None ends) until done or cancelled."""
        playlist: asyncio.Queue = asyncio.Queue()
        fetches: list[asyncio.Task] = []

        async def plan():
            while (text := await sentences.get()) is not None:
                chunks: asyncio.Queue = asyncio.Queue()
                fetches.append(asyncio.create_task(self._synthesise(text, chunks, timing, cache)))
                playlist.put_nowait((text, chunks))
            playlist.put_nowait(None)

        planner = asyncio.create_task(plan())
        self._sending += 1
        self.idle.clear()
        try:
            while (item := await playlist.get()) is not None:
                text, chunks = item
                index = len(reply.sentences)
                reply.sentences.append(text)
                reply.heard.append(False)
                sent = False
                while (chunk := await chunks.get()) is not None:
                    if timing is not None and timing.first_audio is None:
                        timing.first_audio = time.monotonic()
                    await self._send(
                        {
                            "event": "media",
                            "streamSid": self.stream_sid,
                            "media": {"payload": base64.b64encode(chunk).decode()},
                        }
                    )
                    sent = True
                if sent:
                    name = f"r{reply.id}s{index}"
                    self._outstanding[name] = (reply, index)
                    await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
        finally:
            planner.cancel()
            for task in fetches:
                task.cancel()
            self._sending -= 1
            self._maybe_idle()

    async def say(self, reply: Reply, *texts: str, cache: bool = True) -> None:
        """Speak fixed phrases (greeting, reprompts, goodbyes): cached per bot version."""
        queue: asyncio.Queue = asyncio.Queue()
        for text in texts:
            queue.put_nowait(text)
        queue.put_nowait(None)
        await self.play(reply, queue, cache=cache)

    async def _synthesise(self, text: str, chunks: asyncio.Queue, timing: Timing | None, cache: bool):
        key = tts.phrases.key(self.version_key, self.voice, text) if cache else None
        try:
            if key and (audio := await tts.phrases.get(key)) is not None:
                chunks.put_nowait(audio)
                return
            audio = bytearray()
            if timing is not None and timing.tts_requested is None:
                timing.tts_requested = time.monotonic()
            async for chunk in tts.speak(text, self.voice):
                if timing is not None and timing.tts_first_byte is None:
                    timing.tts_first_byte = time.monotonic()
                chunks.put_nowait(chunk)
                if key:
                    audio += chunk
            if key:
                await tts.phrases.put(key, bytes(audio))
        except tts.TtsFailed:
            log.error("no voice could synthesise a sentence; it is skipped")
        finally:
            chunks.put_nowait(None)

    def mark_returned(self, name: str) -> None:
        entry = self._outstanding.pop(name, None)
        if entry is not None:
            reply, index = entry
            reply.heard[index] = True
        self._maybe_idle()

    async def clear(self) -> None:
        """Barge-in: Twilio drops its buffered audio; pending marks no longer mean "heard"."""
        await self._send({"event": "clear", "streamSid": self.stream_sid})
        self._outstanding.clear()
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self.speaking and not self.idle.is_set():
            self.idle.set()
            self.last_idle_at = time.monotonic()
