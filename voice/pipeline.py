"""One phone call's pipeline, owned in-process by its media-stream consumer (asyncio tasks only).

    caller audio ─▶ VAD (barge-in, end of speech) ─▶ STT stream ─▶ end of utterance
        ─▶ dialogue turn (voice mode) ─▶ sentences ─▶ Speaker (TTS, media + marks) ─▶ Twilio

The reply starts before the caller's turn is known to be over. After a short pause
(`SPECULATE_AFTER_MS`) the pipeline asks the STT for the final transcript of what was said so far
and starts a speculative turn on it: the LLM works while the pause lengthens into the bot's
endpointing pause. That confirms the turn, and only then is anything spoken, stored or any tool
called. If the caller goes on talking, the turn is dropped and their words are added to what
they said; the next pause starts again on the whole.

No frame crosses the channel layer or the database: frames go from the socket into the VAD and
onto the STT queue. Stored are only events: the engine's messages, the call's outcome and one
row of latency figures per turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from channels.db import database_sync_to_async
from django.urls import reverse

from config import telemetry
from dialogue import gateway
from dialogue.events import End, Handoff, Inbound, SentenceEnd
from dialogue.turn import prefetch_context, record_interrupted, run_turn
from voice import services, telephony, tts, twiml
from voice.models import Call
from voice.speaker import Reply, Speaker, Timing
from voice.stt import FINALIZE, STT_PROVIDERS, SpeechStarted, SttDisconnected, Transcript, UtteranceEnd
from voice.vad import SpeechDetector, is_back_channel

log = logging.getLogger(__name__)

AUDIO_BACKLOG_FRAMES = 250  # 5 s of caller audio kept while the STT stream reconnects
CONTEXT_FRESH_S = 10.0  # a turn reads its context again when the prefetched read is older than this
# A pause this long after words starts a speculative reply. Longer waits less often on a pause
# inside a sentence (a dropped reply still costs its LLM tokens); shorter answers sooner.
SPECULATE_AFTER_MS = 150
SPOKEN_FRAMES = 3  # 60 ms of voiced audio: worth asking the STT about at the next pause
GOODBYE = "I haven't heard from you, so I'll end the call now. Goodbye."
STT_LOST = "Sorry, I'm having trouble hearing you."
TIME_LIMIT = "We have reached the time limit for this call. Goodbye."
CALL_AGAIN = "Please call again later. Goodbye."
NO_TRANSFER = "Sorry, nobody is available to take your call right now. Goodbye."


class CallPipeline:
    def __init__(self, ctx: services.CallContext, *, stream_sid: str, send, stt: str = "deepgram"):
        self.ctx = ctx
        self.voice = ctx.snapshot.voice
        self.send = send
        self.stream_sid = stream_sid
        self.speaker = Speaker(send, stream_sid=stream_sid, voice=self.voice, version_key=f"v{ctx.version_id}")
        self.vad = SpeechDetector(self.voice.barge_in_sensitivity)
        self.audio: asyncio.Queue = asyncio.Queue(maxsize=AUDIO_BACKLOG_FRAMES)
        self._stt = STT_PROVIDERS[stt]
        self._heard_parts: list[str] = []  # final transcripts of the utterance in progress
        self._digits = ""
        self._turn: asyncio.Task | None = None
        self._reply: Reply | None = None
        self._turns = 0
        self._reprompts = 0
        self._last_input_at = time.monotonic()
        self._ending = False
        self._tasks: list[asyncio.Task] = []
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._narrowing: asyncio.Task | None = None
        self._context: tuple[float, asyncio.Task] | None = None  # read when the caller began speaking
        self._unfinalized = False  # words since the STT last gave a final transcript on request
        self._speculation: asyncio.Future | None = None  # the speculative turn's go-ahead, while pending

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._watch_silence()),
            # The caller's first question finds the LLM and the voice connected.
            asyncio.create_task(gateway.warm()),
            asyncio.create_task(tts.warm()),
        ]
        self._start_turn(Inbound(kind="event", event="call_started"), Timing())

    async def stop(self) -> None:
        """The caller hung up (Twilio `stop`) or the socket closed."""
        log.info("media stream stopped")
        self._ending = True
        with contextlib.suppress(asyncio.QueueFull):
            self.audio.put_nowait(None)
        for task in [*self._tasks, self._turn, self._fresh_context()]:
            if task is not None:
                task.cancel()
        await database_sync_to_async(services.call_finish)(
            call_id=self.ctx.call_id, outcome=Call.Outcome.CALLER_HUNG_UP
        )

    @property
    def busy(self) -> bool:
        """A confirmed turn is running or the bot is speaking: the caller would be talking over it."""
        return (self._turn is not None and not self._turn.done() and self._speculation is None) or self.speaker.speaking

    @property
    def _idle(self) -> bool:
        return (self._turn is None or self._turn.done()) and not self.speaker.speaking

    # --- inbound frames ------------------------------------------------------------------------
    async def on_audio(self, frame: bytes) -> None:
        if self.audio.full():
            self.audio.get_nowait()  # STT is reconnecting: keep the most recent audio
        self.audio.put_nowait(frame)
        onset = self.vad.feed(frame)
        if self.vad.run:
            self._last_input_at = time.monotonic()
            if self.vad.run >= SPOKEN_FRAMES:
                # Sound, maybe words: the next pause asks for a transcript. Only words drop a
                # speculative reply (_on_stt): a noisy line must not start and drop one after another.
                self._unfinalized = True
            if onset and self.busy:
                await self._barge_in("vad")
        elif self._unfinalized or self._speculation is not None:
            self._in_pause()

    def _in_pause(self) -> None:
        quiet_ms = self.vad.quiet_ms
        if self._speculation is not None:
            if quiet_ms >= self.voice.endpointing_ms:
                self._confirm_speculation()  # the bot's endpointing pause, by our own VAD
        elif quiet_ms >= SPECULATE_AFTER_MS:
            self._unfinalized = False
            if not self.busy and self.voice.endpointing_ms > SPECULATE_AFTER_MS and not self.audio.full():
                self.audio.put_nowait(FINALIZE)

    def on_mark(self, name: str) -> None:
        self.speaker.mark_returned(name)

    async def on_dtmf(self, digit: str) -> None:
        if not self.voice.dtmf:
            return  # the bot was set not to listen to the keypad
        self._last_input_at = time.monotonic()
        if self.busy:
            await self._barge_in("dtmf")
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        if digit == self.voice.dtmf_finish_key:
            self._submit_digits()
            return
        self._digits += digit
        self._dtmf_timer = asyncio.get_running_loop().call_later(self.voice.dtmf_gap_s, self._submit_digits)

    def _submit_digits(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            self._start_turn(Inbound(kind="dtmf", text=digits), Timing(turn_start=time.monotonic()), kind="dtmf")

    # --- speech to text ----------------------------------------------------------------------
    async def _listen(self) -> None:
        """Run the STT stream; reconnect once if it drops, else apologise and transfer or end."""
        retried = False
        while not self._ending:
            try:
                async for event in self._stt(self.voice, self.audio):
                    retried = False  # a working stream earns another reconnect later
                    await self._on_stt(event)
                return
            except SttDisconnected as exc:
                if self._ending:
                    return
                if retried:
                    log.error("speech-to-text lost twice in a row (%s); ending the call", exc)
                    await self._give_up()
                    return
                log.warning("speech-to-text stream dropped (%s); reconnecting", exc)
                retried = True

    async def _on_stt(self, event) -> None:
        if (isinstance(event, SpeechStarted) or (isinstance(event, Transcript) and event.text)) and self._idle:
            self._prefetch()
        if isinstance(event, Transcript) and event.text:
            self._last_input_at = time.monotonic()
            talking_over = self.busy
            if talking_over and (is_back_channel(event.text) or not self.voice.barge_in):
                return  # "uh-huh" while the bot talks is listening, not a turn
            if talking_over:
                await self._barge_in("transcript")
            if self._speculation is not None:
                self._drop_speculation()  # more words: the speculative reply answers too little
            if event.is_final:
                self._heard_parts.append(event.text)
        elif isinstance(event, SpeechStarted):
            if self.busy and self.vad.sensitivity.speech_started_interrupts:
                await self._barge_in("speech_started")
            return
        if isinstance(event, Transcript) and event.from_finalize:
            # What was said up to the pause, not the end of the caller's turn (whatever its flags say).
            if self._heard_parts and self._speculation is None and not self.busy:
                self._speculate()
            return
        ended = isinstance(event, UtteranceEnd) or (isinstance(event, Transcript) and event.speech_final)
        if ended and self._speculation is not None:
            self._confirm_speculation()
        elif ended and self._heard_parts:
            text, self._heard_parts = " ".join(self._heard_parts), []
            now = time.monotonic()
            timing = Timing(speech_end=self.vad.last_voiced_at or now, transcript=now, turn_start=now)
            self._start_turn(Inbound(kind="text", text=text), timing)

    def _speculate(self) -> None:
        """Start the reply to what was said so far; it waits to be confirmed before it speaks."""
        now = time.monotonic()
        timing = Timing(speech_end=self.vad.last_voiced_at or now, transcript=now, turn_start=now)
        go_ahead = asyncio.get_running_loop().create_future()
        self._start_turn(Inbound(kind="text", text=" ".join(self._heard_parts)), timing, go_ahead=go_ahead)
        self._speculation = go_ahead

    def _confirm_speculation(self) -> None:
        go_ahead, self._speculation = self._speculation, None
        self._heard_parts = []  # the confirmed turn answers them
        go_ahead.set_result(True)

    def _drop_speculation(self) -> None:
        go_ahead, self._speculation = self._speculation, None
        go_ahead.set_result(False)  # it stores nothing: the caller's words stay in _heard_parts
        if self._turn is not None:
            self._turn.cancel()

    def _prefetch(self) -> None:
        """The caller started speaking to a quiet bot: read the coming turn's context now, so the
        turn does not wait for the database once they stop. Not while a turn runs or the bot
        speaks: that turn may still change what the read would see (it stores its outcome)."""
        if self._fresh_context() is None:
            self._context = (time.monotonic(), prefetch_context(self.ctx.conversation_id))

    def _fresh_context(self) -> asyncio.Task | None:
        if self._context is not None and time.monotonic() - self._context[0] > CONTEXT_FRESH_S:
            self._context[1].cancel()  # speech that made no turn; the status may have moved on since
            self._context = None
        return self._context[1] if self._context is not None else None

    # --- turns -------------------------------------------------------------------------------
    def _start_turn(
        self, inbound: Inbound, timing: Timing, *, kind: str = "speech", go_ahead: asyncio.Future | None = None
    ) -> None:
        if self._ending:
            return
        if self._speculation is not None:
            self._drop_speculation()
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()  # a new input supersedes a reply still being prepared
        if inbound.event != "silence_timeout":
            self._reprompts = 0
        self._turn = asyncio.create_task(self._run_turn(inbound, timing, kind, go_ahead))

    async def _run_turn(self, inbound: Inbound, timing: Timing, kind: str, go_ahead: asyncio.Future | None) -> None:
        reply = self._reply = Reply()
        # The greeting, the entry flow's opening messages and silence reprompts are fixed texts
        # of this bot version: their audio is cached, so they are synthesised once, not per call.
        fixed = inbound.kind == "event"
        if self._narrowing is not None:
            await self._narrowing  # the interrupted reply is stored as heard before the next turn
            self._narrowing = None
        sentences: asyncio.Queue = asyncio.Queue()
        player = asyncio.create_task(self._play_when_confirmed(go_ahead, reply, sentences, timing, cache=fixed))
        after = None
        try:
            async for event in telemetry.voice_turn(timing, self._engine(inbound, go_ahead)):
                if isinstance(event, SentenceEnd) and event.text.strip():
                    sentences.put_nowait(event.text)
                elif isinstance(event, Handoff | End):
                    after = event
            sentences.put_nowait(None)
            await player
        except asyncio.CancelledError:
            player.cancel()
            if go_ahead is None or (go_ahead.done() and go_ahead.result()):
                await self._store_turn(kind, timing, interrupted=True)
            raise
        except Exception:
            log.exception("the dialogue turn failed")
            player.cancel()
            if go_ahead is not None and not await asyncio.shield(go_ahead):
                return  # the caller was still talking: their next pause starts a new turn
            after = End(reason="error")
            await self.speaker.say(Reply(), "Sorry, something went wrong on our side.")
        await self._store_turn(kind, timing, interrupted=False)
        if after is not None:
            await self.speaker.idle.wait()  # the caller hears the last words before we act
            await AFTER_TURN[type(after)](self, after)

    async def _play_when_confirmed(self, go_ahead: asyncio.Future | None, *args, **kwargs) -> None:
        if go_ahead is None or await asyncio.shield(go_ahead):  # cancelling the player leaves it to settle
            await self.speaker.play(*args, **kwargs)

    def _engine(self, inbound: Inbound, go_ahead: asyncio.Future | None):
        context, self._context = self._fresh_context(), None
        return run_turn(
            self.ctx.snapshot,
            conversation_id=self.ctx.conversation_id,
            inbound=inbound,
            mode="voice",
            context=context,
            go_ahead=go_ahead,
        )

    async def _store_turn(self, kind: str, timing: Timing, *, interrupted: bool) -> None:
        index = self._turns = self._turns + 1
        telemetry.voice_spans(timing)
        if timing.turn_start is None:
            return  # the call's opening, not an answer to the caller
        await database_sync_to_async(services.call_turn_record)(
            call_id=self.ctx.call_id,
            conversation_id=self.ctx.conversation_id,
            index=index,
            since=timing.started_at,
            figures=timing.figures(),
            input_kind=kind,
            interrupted=interrupted,
        )

    async def _barge_in(self, source: str) -> None:
        if not self.voice.barge_in and source != "dtmf":
            return
        log.info("barge-in (%s)", source)
        if self.speaker.speaking:
            await self.speaker.clear()  # first: the caller must stop hearing us at once
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        if self._reply is not None and self._reply.sentences:
            # In the background: it waits for the cancelled turn to finish saving, and this
            # coroutine runs inside the socket's receive loop. The next turn awaits it first.
            self._narrowing = asyncio.create_task(
                record_interrupted(self.ctx.conversation_id, heard=self._reply.heard_text())
            )
            self._reply = None

    # --- silence -------------------------------------------------------------------------------
    async def _watch_silence(self) -> None:
        """Reprompt after the bot's silence timeout, hang up after the last reprompt or at max_call_s."""
        started = time.monotonic()
        while not self._ending:
            await asyncio.sleep(0.2)
            if time.monotonic() - started > self.voice.max_call_s:
                await self._end_call(TIME_LIMIT, Call.Outcome.COMPLETED)
                return
            if self.busy or self.vad.run:
                continue
            quiet_since = max(self._last_input_at, self.speaker.last_idle_at)
            if time.monotonic() - quiet_since < self.voice.silence_timeout_s:
                continue
            self._last_input_at = time.monotonic()
            if self._reprompts >= self.voice.silence_reprompts:
                await self._end_call(GOODBYE, Call.Outcome.SILENCE)
                return
            self._reprompts += 1
            self._start_turn(Inbound(kind="event", event="silence_timeout"), Timing(), kind="silence")

    # --- endings ----------------------------------------------------------------------------------
    async def _end_call(self, goodbye: str, outcome: str) -> None:
        self._ending = True
        if goodbye:
            await self.speaker.say(Reply(), goodbye)
            await self.speaker.idle.wait()
        await database_sync_to_async(services.call_finish)(call_id=self.ctx.call_id, outcome=outcome)
        await telephony.update_call(self.ctx.call_sid, hang_up=True)

    async def _transfer(self, to: str, summary: str) -> None:
        if not to:
            await self._end_call(NO_TRANSFER, Call.Outcome.COMPLETED)
            return
        self._ending = True
        await database_sync_to_async(services.call_finish)(
            call_id=self.ctx.call_id, outcome=Call.Outcome.TRANSFERRED, transferred_to=to, whisper=summary
        )
        whisper_url = twiml.public_url(reverse("voice:whisper", args=[self.ctx.call_id]))
        action_url = twiml.public_url(reverse("voice:dial_done", args=[self.ctx.call_id]))
        document = twiml.transfer(to=to, whisper_url=whisper_url, action_url=action_url)
        await telephony.update_call(self.ctx.call_sid, twiml=document)

    async def _give_up(self) -> None:
        """STT is gone for good: apologise, then hand the caller to a person if the bot has one."""
        if self._turn is not None:
            self._turn.cancel()
        if self.voice.transfer_number:
            await self.speaker.say(Reply(), STT_LOST)
            await self.speaker.idle.wait()
            await self._transfer(self.voice.transfer_number, "The caller could not be understood by the voice bot.")
        else:
            await self._end_call(STT_LOST + " " + CALL_AGAIN, Call.Outcome.FAILED)


async def _after_handoff(pipeline: CallPipeline, event: Handoff) -> None:
    await pipeline._transfer(event.transfer_to or pipeline.voice.transfer_number, event.summary)


async def _after_end(pipeline: CallPipeline, event: End) -> None:
    await pipeline._end_call("", Call.Outcome.COMPLETED)


AFTER_TURN = {Handoff: _after_handoff, End: _after_end}
