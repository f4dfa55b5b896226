"""TwiML documents we answer Twilio with, built with the SDK's `VoiceResponse` (never by hand)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from twilio.twiml.voice_response import Dial, VoiceResponse


def public_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def stream_url(path: str) -> str:
    # Twilio requires wss:// (ws:// is only for local development behind http).
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}{path}"


def connect_stream(*, token: str, call_id: int, bot_id: int) -> str:
    """Bidirectional media stream. Twilio drops query strings on the Stream URL, so ids and the
    token travel as <Parameter>s and come back in the `start` message's customParameters."""
    response = VoiceResponse()
    connect = response.connect()
    stream = connect.stream(url=stream_url("/ws/twilio/media/"), status_callback=public_url("/voice/twilio/status/"))
    stream.parameter(name="token", value=token)
    stream.parameter(name="call_id", value=str(call_id))
    stream.parameter(name="bot_id", value=str(bot_id))
    return str(response)


def transfer(*, to: str, whisper_url: str, action_url: str) -> str:
    """Dial a person; `url` on the Number/Sip runs on their leg after they answer and before the
    bridge, which is where the whisper (the summary) is spoken to them alone. Twilio posts
    `DialCallStatus` to `action_url` when the dialled leg ends, answered or not."""
    response = VoiceResponse()
    dial = Dial(answer_on_bridge=True, timeout=25, action=action_url, method="POST")
    if to.startswith("sip:"):
        dial.sip(to, url=whisper_url, method="POST")
    else:
        dial.number(to, url=whisper_url, method="POST")
    response.append(dial)
    return str(response)


def whisper(summary: str) -> str:
    response = VoiceResponse()
    response.say(summary or "A caller is being transferred to you.")
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def unavailable(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)
