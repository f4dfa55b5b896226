"""Voice preview audio: a reply spoken with the bot's own voice settings, as a WAV a browser plays.

The phone pipeline's TTS (`voice.tts.speak`, with its retry and fallback voice) produces mu-law
8 kHz for Twilio; browsers play 16-bit PCM WAV reliably, so the preview converts it.
"""

from __future__ import annotations

import audioop
import io
import wave

from bots.schema import VoiceSettings
from voice import tts

MAX_CHARS = 1000


async def preview_wav(text: str, voice: VoiceSettings) -> bytes:
    ulaw = b"".join([chunk async for chunk in tts.speak(text[:MAX_CHARS], voice)])
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(audioop.ulaw2lin(ulaw, 2))
    return buffer.getvalue()
