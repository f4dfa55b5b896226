"""A call's vendors are connected before the caller's first question needs them."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from bots.schema import VoiceSettings
from voice import tts


def test_the_first_answer_is_voiced_over_the_connection_opened_as_the_call_started(fakes, settings):
    """The greeting is usually cached audio, so without it the first answer would also wait
    for a TCP and TLS handshake with ElevenLabs."""
    _, _, elevenlabs, _ = fakes
    settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = "el-test-key", elevenlabs.base_url

    async def call():
        await tts.warm()  # the call starts
        audio = b"".join([chunk async for chunk in tts.speak("We open at nine.", VoiceSettings())])
        await tts.warm()  # used a moment ago: nothing to open
        return audio

    assert async_to_sync(call)()
    assert len(elevenlabs.model_lists) == 1
    [spoken] = elevenlabs.requests
    assert spoken["text"] == "We open at nine." and spoken["connection"] == elevenlabs.model_lists[0]
