"""Streaming text-to-speech: a sentence in, mu-law 8 kHz chunks out, ready for Twilio.

ElevenLabs through the `elevenlabs` SDK's HTTP streaming endpoint (facts:
../shared/reference/elevenlabs.md; `ulaw_8000` is raw mu-law, so chunks go to Twilio untouched).
`speak` adds the fault policy: a first byte slower than `FIRST_BYTE_TIMEOUT_S` or an error is
retried once, then the bot's fallback voice/model is used, so the caller never hears long dead air.
Fixed phrases (greeting, reprompts, goodbyes) are cached per bot version: synthesised once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpx
from django.conf import settings
from django.core.cache import cache
from elevenlabs import AsyncElevenLabs
from elevenlabs import VoiceSettings as ElevenLabsVoiceSettings
from elevenlabs.core.api_error import ApiError

from bots.schema import VoiceSettings
from config import tls
from dialogue import gateway

log = logging.getLogger(__name__)

FIRST_BYTE_TIMEOUT_S = 1.5
TIMEOUT_S = 240  # the SDK's own: a long answer streams a while; a slow start is FIRST_BYTE_TIMEOUT_S's job
CACHE_TTL_S = 7 * 24 * 3600


class TtsFailed(Exception):
    """No voice could say the sentence."""


_clients: dict[tuple, AsyncElevenLabs] = {}
_last_request: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → monotonic time


def _client() -> AsyncElevenLabs:
    # One client (one httpx connection pool) per process: a new TLS connection per sentence
    # would add a round trip to every first byte.
    key = (settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL)
    if key not in _clients:
        _clients[key] = AsyncElevenLabs(
            api_key=settings.ELEVENLABS_API_KEY,
            base_url=settings.ELEVENLABS_BASE_URL,
            httpx_client=httpx.AsyncClient(
                timeout=TIMEOUT_S,
                follow_redirects=True,
                limits=httpx.Limits(keepalive_expiry=gateway.KEEPALIVE_S),
                verify=tls.for_httpx(),
            ),
        )
    return _clients[key]


async def warm() -> None:
    """Open a connection to ElevenLabs now unless this event loop used one lately, so the first
    answer of a call does not also wait for a TCP and TLS handshake (a call starts this; the
    greeting is usually cached audio and sends nothing). The model list is a cheap request;
    whatever it answers is ignored."""
    if not settings.ELEVENLABS_API_KEY or not gateway.warm_up_due(_last_request):
        return
    with contextlib.suppress(ApiError, httpx.HTTPError):
        await _client().models.list()


async def elevenlabs_stream(text: str, *, voice: str, model: str, speed: float = 1.0) -> AsyncIterator[bytes]:
    _last_request[asyncio.get_running_loop()] = time.monotonic()
    # The natural speed is sent as no setting at all, so the voice's own settings stay in charge.
    options = {"voice_settings": ElevenLabsVoiceSettings(speed=speed)} if speed != 1.0 else {}
    async for chunk in _client().text_to_speech.stream(
        voice, text=text, model_id=model, output_format="ulaw_8000", optimize_streaming_latency=3, **options
    ):
        if chunk:
            yield chunk


TTS_PROVIDERS = {"elevenlabs": elevenlabs_stream}


def _attempts(voice: VoiceSettings) -> list[tuple[str, str]]:
    primary = (voice.tts_voice, voice.tts_model)
    fallback = (voice.tts_fallback_voice or voice.tts_voice, voice.tts_fallback_model or voice.tts_model)
    return [primary, primary] + ([fallback] if fallback != primary else [])


async def speak(text: str, voice: VoiceSettings, provider: str = "elevenlabs") -> AsyncIterator[bytes]:
    """Audio for `text`, with retry and fallback until the first byte; later errors end the sentence."""
    synthesize = TTS_PROVIDERS[provider]
    for n, (voice_id, model) in enumerate(_attempts(voice)):
        stream = synthesize(text, voice=voice_id, model=model, speed=voice.speaking_rate)
        try:
            # A timeout around the wait itself, not `wait_for`: that runs the read in a task of its
            # own, two more turns of a busy event loop between the first byte and the caller.
            async with asyncio.timeout(FIRST_BYTE_TIMEOUT_S):
                first = await anext(stream)
        except (ApiError, httpx.HTTPError, TimeoutError, StopAsyncIteration) as exc:
            await stream.aclose()
            log.warning("tts attempt %d failed (%s, voice %s, model %s)", n + 1, type(exc).__name__, voice_id, model)
            continue
        yield first
        try:
            async for chunk in stream:
                yield chunk
        except (ApiError, httpx.HTTPError) as exc:
            log.warning("tts stream broke mid-sentence (%s)", type(exc).__name__)
        finally:
            await stream.aclose()
        return
    raise TtsFailed("no voice could synthesise the sentence")


class PhraseCache:
    """Audio of fixed phrases per bot version: in memory, backed by Redis for other processes."""

    def __init__(self, max_items: int = 256):
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._max = max_items

    @staticmethod
    def key(version: str, voice: VoiceSettings, text: str) -> str:
        raw = f"{version}|{voice.tts_voice}|{voice.tts_model}|{voice.speaking_rate}|{text}".encode()
        return "voice:phrase:" + hashlib.sha256(raw).hexdigest()

    async def get(self, key: str) -> bytes | None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        audio = await cache.aget(key)
        if audio is not None:
            self._remember(key, audio)
        return audio

    async def put(self, key: str, audio: bytes) -> None:
        self._remember(key, audio)
        await cache.aset(key, audio, CACHE_TTL_S)

    def _remember(self, key: str, audio: bytes) -> None:
        self._memory[key] = audio
        if len(self._memory) > self._max:
            self._memory.popitem(last=False)


phrases = PhraseCache()
