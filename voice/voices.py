"""The voices a builder can pick for calls: the ElevenLabs account's own when a key is set,
else ElevenLabs' premade voices (their ids are the same on every account)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from httpx import HTTPError

log = logging.getLogger(__name__)

PREMADE = [
    ("21m00Tcm4TlvDq8ikWAM", "Rachel — calm, young woman, American"),
    ("EXAVITQu4vr4xnSDxMaL", "Sarah — soft, young woman, American"),
    ("pNInz6obpgDQGcFmaJgB", "Adam — deep, middle-aged man, American"),
    ("ErXwobaYiN019PkySvjV", "Antoni — well-rounded, young man, American"),
    ("TxGEqnHWrfWFTfGW9XTX", "Josh — deep, young man, American"),
    ("AZnzlk1XvdvUeBnXmlld", "Domi — strong, young woman, American"),
    ("ThT5KcBeYPX3keUQqHPh", "Dorothy — pleasant, young woman, British"),
    ("onwK4e9ZLuTAKqWW03F9", "Daniel — deep, middle-aged man, British"),
]
CACHE_S = 600


def available_voices() -> list[tuple[str, str]]:
    """(voice id, label) pairs, the account's first. Asked of ElevenLabs at most every ten minutes."""
    if not settings.ELEVENLABS_API_KEY:
        return PREMADE
    key = f"voice:choices:{settings.ELEVENLABS_BASE_URL}"
    voices = cache.get(key)
    if voices is None:
        try:
            client = ElevenLabs(api_key=settings.ELEVENLABS_API_KEY, base_url=settings.ELEVENLABS_BASE_URL, timeout=5)
            found = client.voices.get_all().voices
        except (ApiError, HTTPError) as exc:
            log.warning("could not list ElevenLabs voices (%s); offering the premade ones", type(exc).__name__)
            return PREMADE
        voices = [(v.voice_id, f"{v.name} — your account ({v.category})") for v in found]
        cache.set(key, voices, CACHE_S)
    known = {voice_id for voice_id, _ in voices}
    return voices + [(voice_id, label) for voice_id, label in PREMADE if voice_id not in known]
