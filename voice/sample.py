"""A sample of a voice as callers will hear it: the phone's own text-to-speech path (8 kHz mu-law),
wrapped as a WAV file a browser can play."""

from __future__ import annotations

import audioop
import io
import wave

from django.conf import settings

from bots.schema import VoiceSettings
from voice import tts

SAMPLE_TEXT = "Hello! Thanks for calling. How can I help you today?"


class NoVoiceService(Exception):
    """No text-to-speech service is configured."""


async def sample_wav(voice: VoiceSettings, text: str = SAMPLE_TEXT) -> bytes:
    """Raises `NoVoiceService` without a key, `tts.TtsFailed` when no voice could speak."""
    if not settings.ELEVENLABS_API_KEY:
        raise NoVoiceService("Set ELEVENLABS_API_KEY (and restart) to hear voices; calls need it too.")
    audio = b"".join([chunk async for chunk in tts.speak(text, voice)])
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(audioop.ulaw2lin(audio, 2))
    return out.getvalue()
