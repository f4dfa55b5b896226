"""A local Deepgram live-transcription server (wire facts: ../shared/reference/deepgram.md).

It speaks the real `/v1/listen` WebSocket protocol to the real `deepgram-sdk`: binary frames of
mu-law audio in, JSON `Results` / `SpeechStarted` / `UtteranceEnd` / `Metadata` out. It does not
recognise words: it detects speech by energy and, when a stretch of speech is followed by
`final_delay` seconds of silent audio, answers the next scripted transcript. Tests script what the
caller "said" with `fake.say(...)`; faults: `reject` handshakes, `drop()` live connections.
Endpointing counts audio received, as Deepgram's does, not wall time: frames that arrive late
and bunched (a busy machine) do not split an utterance.
`Finalize` answers the utterance in progress at once (`from_finalize`, not `speech_final`); the
endpointing pause, if it follows, then ends the turn with an empty `speech_final` result. Speech
after a `Finalize` is a new utterance: the next scripted transcript.

It also answers the pre-recorded API, `POST /v1/listen` with the audio file as the body: the
response is Deepgram's JSON (`results.channels[0].alternatives[0].transcript`) holding the next
transcript scripted with `fake.transcribe_as(...)`; `prerecorded` records each request.
"""

from __future__ import annotations

import asyncio
import audioop
import contextlib
import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

from tests.fakes.server import FakeVendor, read_body

SPEECH_RMS = 300  # 16-bit RMS above which a 20 ms frame counts as speech
FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz


@dataclass
class Utterance:
    text: str
    interim: str | None = None  # sent `interim_delay` after speech onset; defaults to the first word


class FakeDeepgram(FakeVendor):
    def __init__(self, *, final_delay: float = 0.25, interim_delay: float = 0.12):
        self.final_delay = final_delay
        self.interim_delay = interim_delay
        self.connections: list[dict] = []  # one record per accepted connection: query, headers
        self.finals_sent: list[tuple[float, str]] = []
        self.finalize_requests: list[float] = []  # when each `Finalize` came (monotonic)
        self.turn_ends_sent: list[float] = []  # when endpointing sent each `speech_final`
        self.reject = 0  # refuse this many upcoming handshakes (HTTP 503)
        self._script: deque[Utterance] = deque()
        self.prerecorded: list[dict] = []  # one record per POST /v1/listen: query, headers, audio bytes
        self._files: deque[str] = deque()
        self._live: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()
        super().__init__()

    # --- control -------------------------------------------------------------------------

    def say(self, *texts: str | Utterance) -> None:
        """Queue what the next speech segments will be transcribed as, in order."""
        with self._lock:
            self._script.extend(t if isinstance(t, Utterance) else Utterance(t) for t in texts)

    def transcribe_as(self, *texts: str) -> None:
        """Queue the transcripts of the next pre-recorded requests, in order."""
        with self._lock:
            self._files.extend(texts)

    def drop(self) -> None:
        """Close every live connection abruptly (1011), as on a network fault."""
        for loop, event in list(self._live):
            loop.call_soon_threadsafe(event.set)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._files.clear()
        self.prerecorded.clear()
        self.connections.clear()
        self.finals_sent.clear()
        self.finalize_requests.clear()
        self.turn_ends_sent.clear()
        self.reject = 0
        self.final_delay = 0.25
        self.interim_delay = 0.12

    def _next(self) -> Utterance:
        with self._lock:
            return self._script.popleft() if self._script else Utterance("hello")

    # --- ASGI ------------------------------------------------------------------------------
    async def app(self, scope, receive, send):
        if scope["type"] == "http":
            return await self._prerecorded(scope, receive, send)
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if (
            self.reject > 0
            or scope["path"] != "/v1/listen"
            or not headers.get("authorization", "").startswith("Token ")
        ):
            self.reject = max(0, self.reject - 1)
            await send({"type": "websocket.close", "code": 1011})  # before accept: an HTTP 403 refusal
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.connections.append({"query": query, "headers": headers})
        await send({"type": "websocket.accept"})
        await _Session(self, query, receive, send).run()

    async def _prerecorded(self, scope, receive, send):
        audio = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if not headers.get("authorization", "").startswith("Token "):
            return await _http_json(send, 401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})
        if scope["method"] != "POST" or scope["path"] != "/v1/listen":
            return await _http_json(send, 404, {"err_code": "NOT_FOUND", "err_msg": "Not found."})
        if not audio:
            return await _http_json(send, 400, {"err_code": "Bad Request", "err_msg": "No audio in the request."})
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.prerecorded.append({"query": query, "headers": headers, "audio": audio})
        with self._lock:
            text = self._files.popleft() if self._files else "hello"
        words = [
            {"word": w.lower().strip(".,?!"), "start": 0.1 * i, "end": 0.1 * i + 0.1, "confidence": 0.98}
            for i, w in enumerate(text.split())
        ]
        alternative = {"transcript": text, "confidence": 0.98, "words": words}
        metadata = {
            "transaction_key": "deprecated",
            "request_id": "fake",
            "sha256": hashlib.sha256(audio).hexdigest(),
            "created": "2026-01-01T00:00:00.000Z",
            "duration": round(len(audio) / 8000, 3),
            "channels": 1,
            "models": ["fake-model-uuid"],
            "model_info": {"fake-model-uuid": {"name": "general-nova-3", "version": "x", "arch": "nova-3"}},
        }
        await _http_json(send, 200, {"metadata": metadata, "results": {"channels": [{"alternatives": [alternative]}]}})


async def _http_json(send, status: int, data: dict):
    headers = [(b"content-type", b"application/json"), (b"dg-request-id", b"fake")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


class _Session:
    def __init__(self, fake: FakeDeepgram, query: dict, receive, send):
        self.fake, self.query, self.receive, self.send = fake, query, receive, send
        self.audio_s = 0.0  # seconds of audio received: Deepgram's timestamps are in audio time
        self.in_speech = False
        self.onset_at = 0.0
        self.endpoint_at: float | None = None  # audio time at which the pause ends the utterance
        self.interim: asyncio.TimerHandle | None = None
        self.utterance: Utterance | None = None
        self.dropped = asyncio.Event()

    async def run(self):
        loop = asyncio.get_running_loop()
        entry = (loop, self.dropped)
        self.fake._live.append(entry)
        dropper = asyncio.create_task(self._drop_on_request())
        try:
            while True:
                message = await self.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    self._audio(message["bytes"])
                elif message.get("text") is not None:
                    if await self._control(json.loads(message["text"])):
                        return
        finally:
            dropper.cancel()
            self._cancel_interim()
            self.fake._live.remove(entry)

    async def _drop_on_request(self):
        await self.dropped.wait()
        self._cancel_interim()
        await self.send({"type": "websocket.close", "code": 1011, "reason": "NET-0000"})

    async def _control(self, msg: dict) -> bool:
        kind = msg.get("type")
        if kind == "Finalize":
            self.fake.finalize_requests.append(time.monotonic())
            if self.in_speech:
                self._finalize()
        elif kind == "CloseStream":
            meta = {"type": "Metadata", "request_id": "fake", "duration": self.audio_s, "channels": 1}
            await self._emit(meta)
            await self.send({"type": "websocket.close", "code": 1000})
            return True
        return False

    def _audio(self, chunk: bytes):
        # Frame by frame: a busy client batches several frames into one message.
        for i in range(0, len(chunk), FRAME_BYTES):
            self._frame(chunk[i : i + FRAME_BYTES])

    def _frame(self, frame: bytes):
        start = self.audio_s
        self.audio_s += len(frame) / 8000
        if audioop.rms(audioop.ulaw2lin(frame, 2), 2) < SPEECH_RMS:
            if self.endpoint_at is not None and self.audio_s >= self.endpoint_at - 1e-9:
                self._final()
            return
        self.endpoint_at = self.audio_s + self.fake.final_delay  # more speech: the pause starts again
        if not self.in_speech:
            self.in_speech, self.onset_at = True, start
            self.utterance = self.fake._next()
            if self.query.get("vad_events") == "true":
                self._spawn({"type": "SpeechStarted", "channel": [0, 1], "timestamp": round(start, 3)})
            if self.query.get("interim_results") == "true":
                interim = self.utterance.interim or self.utterance.text.split(" ")[0]
                self.interim = asyncio.get_running_loop().call_later(
                    self.fake.interim_delay, self._results, interim, False, False
                )

    def _cancel_interim(self):
        if self.interim is not None:
            self.interim.cancel()
            self.interim = None

    def _finalize(self):
        self._cancel_interim()  # its words are final now
        self.in_speech = False
        text, self.utterance = self.utterance.text, None
        self.fake.finals_sent.append((time.monotonic(), text))
        self._results(text, True, False, from_finalize=True)

    def _final(self):
        self._cancel_interim()
        self.endpoint_at = None
        self.in_speech = False
        text = self.utterance.text if self.utterance else ""
        self.utterance = None
        if text:
            self.fake.finals_sent.append((time.monotonic(), text))
        self.fake.turn_ends_sent.append(time.monotonic())
        self._results(text, True, True)
        if self.query.get("utterance_end_ms"):
            self._spawn({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round(self.audio_s, 3)})

    def _results(self, text: str, is_final: bool, speech_final: bool, from_finalize: bool = False):
        words = [
            {"word": w.lower().strip(".,?!"), "start": self.onset_at, "end": self.audio_s, "confidence": 0.98}
            for w in text.split()
        ]
        self._spawn(
            {
                "type": "Results",
                "channel_index": [0, 1],
                "duration": round(self.audio_s - self.onset_at, 3),
                "start": round(self.onset_at, 3),
                "is_final": is_final,
                "speech_final": speech_final,
                "from_finalize": from_finalize,
                "channel": {"alternatives": [{"transcript": text, "confidence": 0.98, "words": words}]},
                "metadata": {
                    "request_id": "fake",
                    "model_info": {"name": "general-nova-3", "version": "x", "arch": "nova-3"},
                },
            }
        )

    def _spawn(self, msg: dict):
        asyncio.get_running_loop().create_task(self._emit(msg))

    async def _emit(self, msg: dict):
        with contextlib.suppress(Exception):  # the client may have gone away meanwhile
            await self.send({"type": "websocket.send", "text": json.dumps(msg)})
