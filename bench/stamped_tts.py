"""The ElevenLabs fake for bench/voice.py, marking each answer's audio so the caller can time it.

The first bytes of every streamed answer are replaced by a marker and the request's number, and
the fake prints `first-byte <number> <time.monotonic()>` as it sends them. The caller finds the
marker in the first `media` frame it receives and so measures TTS first byte → caller's first
frame without trusting the server's own accounting (the monotonic clock is the machine's, the
same in every process).
"""

from __future__ import annotations

import itertools
import time

from tests.fakes.elevenlabs_server import FakeElevenLabs

MARKER = b"\xa5\x5a\xa5\x5a"


def read_stamp(audio: bytes) -> int | None:
    """The request number a marked chunk carries, or None."""
    return int.from_bytes(audio[4:8], "big") if audio[:4] == MARKER and len(audio) >= 8 else None


class StampedElevenLabs(FakeElevenLabs):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._numbers = itertools.count(1)

    async def app(self, scope, receive, send):
        number = next(self._numbers)
        first = True

        async def stamped(message):
            nonlocal first
            if first and message["type"] == "http.response.body" and len(message.get("body", b"")) >= 8:
                first = False
                message = {**message, "body": MARKER + number.to_bytes(4, "big") + message["body"][8:]}
                print(f"first-byte {number} {time.monotonic():.6f}", flush=True)
            await send(message)

        await super().app(scope, receive, stamped)
