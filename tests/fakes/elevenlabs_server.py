"""A local ElevenLabs text-to-speech server (wire facts: ../shared/reference/elevenlabs.md).

Serves `POST /v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000` (and `GET /v1/voices`,
the account's voices) to the real `elevenlabs` SDK: a chunked body of raw mu-law 8 kHz audio (a quiet tone, `ms_per_char` of audio
per character of text) after `first_byte_delay`. Faults: `fail(status, times)` answers the next
requests with an error body, `down_voices` always fail, `slow_voices` wait before the first byte.
"""

from __future__ import annotations

import asyncio
import audioop
import json
import math
import struct
import threading
from urllib.parse import parse_qs

from tests.fakes.server import FakeVendor, read_body


def tone_ulaw(seconds: float, freq: float = 440.0, amplitude: int = 3000) -> bytes:
    n = int(seconds * 8000)
    pcm = struct.pack(f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * freq * i / 8000)) for i in range(n)))
    return audioop.lin2ulaw(pcm, 2)


_TONE = tone_ulaw(20.0)
# `GET /v1/models`, in the API's shape (a few of its fields).
MODELS = [
    {
        "model_id": mid,
        "name": name,
        "can_do_text_to_speech": True,
        "languages": [{"language_id": "en", "name": "English"}],
    }
    for mid, name in (("eleven_flash_v2_5", "Eleven Flash v2.5"), ("eleven_multilingual_v2", "Eleven Multilingual v2"))
]


class FakeElevenLabs(FakeVendor):
    def __init__(self, *, first_byte_delay: float = 0.0, ms_per_char: float = 15.0):
        self.first_byte_delay = first_byte_delay
        self.ms_per_char = ms_per_char
        self.requests: list[dict] = []  # text-to-speech requests
        self.model_lists: list = []  # the client address of each `GET /v1/models`
        self.down_voices: set[str] = set()
        self.slow_voices: dict[str, float] = {}
        # The account's voices, as `GET /v1/voices` lists them.
        self.voices = [
            {"voice_id": "fake-voice-amy", "name": "Amy", "category": "cloned", "labels": {"accent": "british"}},
            {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade", "labels": {}},
        ]
        self._failures: list[int] = []
        self._lock = threading.Lock()
        super().__init__()

    def fail(self, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    def texts(self) -> list[str]:
        return [r["text"] for r in self.requests if r["status"] == 200]

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
        self.requests.clear()
        self.model_lists.clear()
        self.down_voices.clear()
        self.slow_voices.clear()
        self.first_byte_delay = 0.0
        self.ms_per_char = 15.0

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        parts = scope["path"].strip("/").split("/")  # v1 text-to-speech {voice} stream
        headers = dict(scope["headers"])
        if parts == ["v1", "models"] and scope["method"] == "GET":
            self.model_lists.append(scope.get("client"))
            return await _json(send, 200, MODELS if headers.get(b"xi-api-key") else [])
        if parts == ["v1", "voices"] and scope["method"] == "GET":
            return await _json(send, 200, {"voices": self.voices} if headers.get(b"xi-api-key") else {})
        if len(parts) != 4 or parts[:2] != ["v1", "text-to-speech"] or parts[3] != "stream":
            return await _json(send, 404, {"detail": {"status": "not_found", "message": scope["path"]}})
        if not headers.get(b"xi-api-key"):
            return await _json(send, 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        payload = json.loads(body or b"{}")
        voice = parts[2]
        with self._lock:
            status = self._failures.pop(0) if self._failures else (500 if voice in self.down_voices else 200)
        self.requests.append(
            {
                "voice": voice,
                "model": payload.get("model_id"),
                "text": payload.get("text", ""),
                "output_format": query.get("output_format"),
                "speed": (payload.get("voice_settings") or {}).get("speed"),
                "status": status,
                "connection": scope.get("client"),
            }
        )
        await asyncio.sleep(self.first_byte_delay + self.slow_voices.get(voice, 0.0))
        if status != 200:
            return await _json(send, status, {"detail": {"status": "system_busy", "message": "scripted failure"}})
        if query.get("output_format") != "ulaw_8000":
            return await _json(
                send, 422, {"detail": [{"loc": ["query", "output_format"], "msg": "fake serves ulaw_8000 only"}]}
            )
        audio = _TONE[: int(len(payload.get("text", "")) * self.ms_per_char * 8)]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"audio/basic")]})
        for i in range(0, len(audio), 1024):
            await send({"type": "http.response.body", "body": audio[i : i + 1024], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _json(send, status: int, data) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})
