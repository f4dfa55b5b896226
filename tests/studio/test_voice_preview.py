"""The console's voice preview audio, through the real ElevenLabs SDK against the local fake."""

from __future__ import annotations

import io
import wave

import pytest

from tests.fakes.elevenlabs_server import FakeElevenLabs
from tests.studio.factories import EMAIL_FLOW, make_bot
from tests.studio.test_studio_pages import builder_client, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_tts(settings):
    fake = FakeElevenLabs().start()
    settings.ELEVENLABS_API_KEY = "el-test"
    settings.ELEVENLABS_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def test_a_reply_is_spoken_with_the_bots_voice_as_a_playable_wav(fake_tts):
    bot = make_bot(graph=EMAIL_FLOW)
    bot.voice = {"tts_voice": "voice-of-the-shop"}
    bot.save()
    client = builder_client(bot)
    res = post(client, f"/studio/bots/{bot.id}/console/speech", {"text": "Thanks, you are on the list."})
    assert res.status_code == 200 and res["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(res.content)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        assert audio.getnframes() > 0
    assert fake_tts.requests[-1]["voice"] == "voice-of-the-shop"


def test_the_preview_refuses_empty_text_and_explains_a_missing_key(fake_tts, settings):
    bot = make_bot(graph=EMAIL_FLOW)
    client = builder_client(bot)
    assert post(client, f"/studio/bots/{bot.id}/console/speech", {"text": " "}).status_code == 400
    assert post(client, f"/studio/bots/{bot.id}/console/speech", {"text": "x" * 1001}).status_code == 400
    assert fake_tts.requests == []
    settings.ELEVENLABS_API_KEY = ""
    res = post(client, f"/studio/bots/{bot.id}/console/speech", {"text": "Hello"})
    assert res.status_code == 404 and "ELEVENLABS_API_KEY" in res.json()["detail"]
