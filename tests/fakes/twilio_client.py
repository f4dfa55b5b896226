"""Twilio's side of a phone call, for tests (wire facts: ../shared/reference/twilio.md).

`FakeTwilioRest` is the REST API's call-update endpoint (`POST /2010-04-01/Accounts/{AC}/Calls/
{CA}.json`), used through the real `twilio` SDK: it records the update and, as Twilio does when
new TwiML replaces a running `<Connect><Stream>`, stops the call's media stream.

`TwilioCall` is a media stream as Twilio drives it: it places the call through our signed voice
webhook, opens the `<Stream>` WebSocket with the TwiML's `<Parameter>`s, sends `connected` /
`start`, real 20 ms mu-law frames of speech or silence in real time, DTMF and `stop`; it plays the
audio it receives at 8000 bytes a second, acknowledges each `mark` when the audio before it has
finished playing, and honours `clear` (drops buffered audio, returns pending marks at once).
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import binascii
import contextlib
import json
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import websockets
from twilio.request_validator import RequestValidator

from tests.fakes.server import FakeVendor, read_body

DATA = Path(__file__).resolve().parent.parent / "data"
FRAME = 160  # bytes of mu-law in 20 ms at 8 kHz
SILENCE = b"\xff" * FRAME
VOICED_RMS = 300  # 16-bit RMS of a frame that carries speech (the fake Deepgram's threshold too)


def speech(name: str) -> bytes:
    """Recorded speech from tests/data (espeak-ng, converted by sox to raw mu-law 8 kHz)."""
    return (DATA / f"{name}.ulaw").read_bytes()


def noise_burst(ms: int) -> bytes:
    """A loud click/cough-like burst: alternating extremes."""
    return bytes([0x00, 0x80]) * (ms * 4)


class FakeTwilioRest(FakeVendor):
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.updates: list[dict] = []  # {"call_sid": ..., "form": {...}, "time": monotonic}
        self.numbers: dict[str, dict] = {}  # the account's numbers: "+1415…" -> {"sid", "voice_url", …}
        self._listeners: dict[str, tuple[asyncio.AbstractEventLoop, callable]] = {}
        super().__init__()

    def add_number(self, phone_number: str) -> None:
        sid = "PN" + phone_number.strip("+").rjust(32, "0")
        self.numbers[phone_number] = {"sid": sid, "phone_number": phone_number, "voice_url": "", "status_callback": ""}

    def reset(self) -> None:
        self.updates.clear()
        self.numbers.clear()
        self._listeners.clear()

    def on_update(self, call_sid: str, callback) -> None:
        self._listeners[call_sid] = (asyncio.get_running_loop(), callback)

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        auth = dict(scope["headers"]).get(b"authorization", b"")
        expected = b"Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode())
        parts = scope["path"].split("/")  # "" 2010-04-01 Accounts AC Calls CA.json
        if auth != expected:
            return await _json(send, 401, {"code": 20003, "message": "Authenticate", "status": 401})
        if len(parts) >= 5 and parts[4].startswith("IncomingPhoneNumbers"):
            return await self._numbers(scope, send, parts, body)
        if len(parts) != 6 or parts[2] != "Accounts" or parts[4] != "Calls" or not parts[5].endswith(".json"):
            return await _json(send, 404, {"code": 20404, "message": "Not found", "status": 404})
        call_sid = parts[5][: -len(".json")]
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if len(form.get("Twiml", "")) > 4000:
            return await _json(send, 400, {"code": 32018, "message": "TwiML too long", "status": 400})
        self.updates.append({"call_sid": call_sid, "form": form, "time": time.monotonic()})
        if call_sid in self._listeners:
            loop, callback = self._listeners[call_sid]
            loop.call_soon_threadsafe(callback, form)
        status = "completed" if form.get("Status") == "completed" else "in-progress"
        await _json(send, 200, {"sid": call_sid, "account_sid": parts[3], "status": status})

    async def _numbers(self, scope, send, parts: list[str], body: bytes):
        """`GET …/IncomingPhoneNumbers.json?PhoneNumber=…` lists; `POST …/IncomingPhoneNumbers/PN….json` updates."""
        if scope["method"] == "GET" and parts[4] == "IncomingPhoneNumbers.json":
            wanted = parse_qs(scope["query_string"].decode()).get("PhoneNumber", [None])[0]
            found = [n for n in self.numbers.values() if wanted in (None, n["phone_number"])]
            page = {"incoming_phone_numbers": found, "page": 0, "page_size": 50, "next_page_uri": None}
            return await _json(send, 200, page)
        if scope["method"] == "POST" and len(parts) == 6 and parts[5].endswith(".json"):
            number = next((n for n in self.numbers.values() if n["sid"] == parts[5][: -len(".json")]), None)
            if number is None:
                return await _json(send, 404, {"code": 20404, "message": "Not found", "status": 404})
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            number.update(voice_url=form.get("VoiceUrl", ""), status_callback=form.get("StatusCallback", ""))
            number.update(
                voice_method=form.get("VoiceMethod", ""), status_callback_method=form.get("StatusCallbackMethod", "")
            )
            return await _json(send, 200, number)
        return await _json(send, 404, {"code": 20404, "message": "Not found", "status": 404})


async def _json(send, status: int, data: dict, headers: dict | None = None) -> None:
    extra = [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *extra]}
    )
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


def sign(auth_token: str, url: str, params: dict) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


class TwilioCall:
    """One inbound call. Use `await TwilioCall.place(...)`, then speak, listen, assert."""

    def __init__(self, *, ws_url: str, parameters: dict, call_sid: str, account_sid: str):
        self.ws_url, self.parameters = ws_url, parameters
        self.call_sid, self.account_sid = call_sid, account_sid
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.events: list[tuple[float, str, dict]] = []  # (monotonic, event, message) received
        self.audio = bytearray()  # every byte of audio received (played or not)
        self.marks_acked: list[str] = []  # played to the end
        self.marks_cleared: list[str] = []  # returned at once by a `clear`: never played
        self.clears: list[float] = []
        self.last_voiced_sent_at = 0.0  # when the latest frame with speech energy was sent
        self.updates: list[dict] = []  # REST updates of this call (transfer TwiML, hang-up)
        self.closed = asyncio.Event()
        self._play_until = 0.0  # monotonic time the buffered audio finishes playing
        self._pending: list[tuple[float, str]] = []  # marks waiting for their audio to play
        self._pending_changed = asyncio.Event()
        self._marks: list[str] = []  # names of the marks received, in order
        self._chunk = 0
        self._seq = 0
        self._ws = None
        self._tasks: list[asyncio.Task] = []
        self._send_lock = asyncio.Lock()

    @classmethod
    async def place(
        cls,
        base_url: str,
        *,
        public_base_url: str,
        auth_token: str,
        to: str,
        from_: str = "+15550001234",
        rest: FakeTwilioRest | None = None,
        account_sid: str = "AC" + "0" * 32,
    ) -> TwilioCall:
        """POST the voice webhook as Twilio does, then open the stream its TwiML names."""
        call_sid = "CA" + uuid.uuid4().hex
        params = {
            "CallSid": call_sid,
            "AccountSid": account_sid,
            "From": from_,
            "To": to,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        path = "/voice/twilio/incoming/"
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(
                base_url + path,
                data=params,
                headers={"X-Twilio-Signature": sign(auth_token, public_base_url + path, params)},
            )
        r.raise_for_status()
        stream = ET.fromstring(r.text).find("./Connect/Stream")  # noqa: S314 — our own server's TwiML
        parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        # The TwiML names the public wss:// URL; the test reaches the same server on loopback.
        ws_path = stream.get("url").split("://", 1)[1].split("/", 1)[1]
        ws_url = base_url.replace("http://", "ws://") + "/" + ws_path
        call = cls(ws_url=ws_url, parameters=parameters, call_sid=call_sid, account_sid=account_sid)
        if rest is not None:
            rest.on_update(call_sid, call._rest_update)
        await call.connect()
        return call

    # --- connection ------------------------------------------------------------------------
    async def connect(self) -> None:
        # Twilio's media streams do not negotiate permessage-deflate.
        self._ws = await websockets.connect(self.ws_url, max_size=None, compression=None)
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self._send(
            {
                "event": "start",
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": self.parameters,
                },
            }
        )
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._ack_marks())]

    async def _send(self, msg: dict) -> None:
        self._seq += 1
        msg = {"sequenceNumber": str(self._seq), **msg}
        if msg["event"] not in ("connected", "start"):
            msg["streamSid"] = self.stream_sid
        async with self._send_lock:
            await self._ws.send(json.dumps(msg))

    async def send_raw(self, text: str) -> None:
        await self._ws.send(text)

    async def _receive(self) -> None:
        try:
            async for raw in self._ws:
                now = time.monotonic()
                msg = json.loads(raw)
                event = msg.get("event")
                self.events.append((now, event, msg))
                if event == "media":
                    chunk = base64.b64decode(msg["media"]["payload"])
                    self.audio += chunk
                    self._play_until = max(self._play_until, now) + len(chunk) / 8000
                elif event == "mark":
                    self._marks.append(msg["mark"]["name"])
                    self._pending.append((self._play_until, msg["mark"]["name"]))
                    self._pending_changed.set()
                elif event == "clear":
                    self.clears.append(now)
                    self._play_until = now
                    for _, name in self._pending:  # Twilio returns pending marks at once on clear
                        self.marks_cleared.append(name)
                        await self._send({"event": "mark", "mark": {"name": name}})
                    self._pending.clear()
                    self._pending_changed.set()
        except (websockets.ConnectionClosed, binascii.Error):
            pass
        finally:
            self.closed.set()
            self._pending_changed.set()

    async def _ack_marks(self) -> None:
        """Echo each mark when the audio before it has played. Sleeps until then rather than
        polling: a load test runs a hundred of these callers in one process."""
        while not self.closed.is_set():
            due = self._pending[0][0] if self._pending else None
            if due is None or due > time.monotonic():
                self._pending_changed.clear()
                timeout = None if due is None else due - time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._pending_changed.wait(), timeout)
                continue
            _, name = self._pending.pop(0)
            self.marks_acked.append(name)
            try:
                await self._send({"event": "mark", "mark": {"name": name}})
            except websockets.ConnectionClosed:
                return

    def _rest_update(self, form: dict) -> None:
        # New TwiML (or a hang-up) ends the <Connect><Stream>: Twilio sends `stop` and closes.
        self.updates.append(form)
        asyncio.get_running_loop().create_task(self.hang_up())

    # --- the caller ------------------------------------------------------------------------
    async def send_audio(self, audio: bytes, *, late: float = 0.0) -> None:
        """Send audio in real time, 20 ms a frame, as Twilio forwards the caller's voice.
        `late`: the network held the first `late` seconds of it up, so those frames arrive at
        once and the rest in real time."""
        start = time.monotonic() - late
        for n, i in enumerate(range(0, len(audio), FRAME)):
            frame = audio[i : i + FRAME].ljust(FRAME, b"\xff")
            self._chunk += 1
            await self._send(
                {
                    "event": "media",
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str(self._chunk * 20),
                        "payload": base64.b64encode(frame).decode(),
                    },
                }
            )
            if audioop.rms(audioop.ulaw2lin(frame, 2), 2) >= VOICED_RMS:
                self.last_voiced_sent_at = time.monotonic()
            delay = start + (n + 1) * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def say(self, name: str, *, trailing_silence: float = 0.0) -> None:
        await self.send_audio(speech(name) + SILENCE * int(trailing_silence / 0.02))

    async def silence(self, seconds: float) -> None:
        await self.send_audio(SILENCE * int(seconds / 0.02))

    async def press(self, digits: str) -> None:
        for d in digits:
            await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": d}})
            await self.silence(0.1)

    async def hang_up(self) -> None:
        if self._ws is None or self.closed.is_set():
            return
        try:
            await self._send({"event": "stop", "stop": {"accountSid": self.account_sid, "callSid": self.call_sid}})
            await self._ws.close()
        except websockets.ConnectionClosed:
            pass
        await self.closed.wait()

    async def close(self) -> None:
        await self.hang_up()
        for t in self._tasks:
            t.cancel()

    # --- waiting -----------------------------------------------------------------------------
    async def wait_for(self, predicate, timeout: float = 10.0, *, keep_talking: bool = True) -> None:
        """Wait until `predicate()` holds; meanwhile the line carries silence, as a real call does."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; events: {[e for _, e, _ in self.events][-20:]}")
            if keep_talking and not self.closed.is_set():
                await self.silence(0.06)
            else:
                await asyncio.sleep(0.02)

    def marks_sent(self) -> list[str]:
        return list(self._marks)

    async def wait_quiet(self, timeout: float = 10.0) -> None:
        """Until everything the bot sent has been played and acknowledged."""
        await self.wait_for(
            lambda: (
                self.marks_sent()
                and len(self.marks_acked) + len(self.marks_cleared) >= len(self.marks_sent())
                and not self._pending
            ),
            timeout,
        )
