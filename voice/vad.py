"""Is the caller talking over the bot? webrtcvad on 20 ms frames, tuned by the bot's sensitivity.

Deciding fast matters (`clear` within 60 ms of speech onset at the default sensitivity, with 50
calls on the process) but so does not stopping the bot for a click or an "uh-huh": a run of
voiced frames shorter than the sensitivity's is ignored, and a tolerant bot is stopped only by a
transcript with real words or 0.6 s of sound (`is_back_channel`).
"""

from __future__ import annotations

import audioop
import re
import time
from dataclasses import dataclass

import webrtcvad

FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz; webrtcvad takes 10, 20 or 30 ms frames
FRAME_MS = 20
MIN_RMS = 150  # 16-bit RMS under which a frame is line hiss, whatever the VAD says


@dataclass(frozen=True)
class Sensitivity:
    aggressiveness: int  # webrtcvad 0-3: higher rejects more non-speech
    frames: int  # consecutive voiced 20 ms frames that count as the caller talking
    speech_started_interrupts: bool  # trust Deepgram's SpeechStarted on its own


# The frames a sensitivity waits for are the floor of its barge-in time: the caller's third frame
# arrives 40 ms after the first, so "medium" can send `clear` within 60 ms of speech onset (the
# budget) while a click or pop of one or two frames still passes.
SENSITIVITIES = {
    "high": Sensitivity(aggressiveness=2, frames=2, speech_started_interrupts=True),
    "medium": Sensitivity(aggressiveness=3, frames=3, speech_started_interrupts=False),
    # Longer than an "uh-huh" or "mm-hmm" (~0.5 s): when tolerant, words do the interrupting (the
    # first interim transcript with a word that is not a listener noise, see `is_back_channel`).
    "tolerant": Sensitivity(aggressiveness=3, frames=30, speech_started_interrupts=False),
}

BACK_CHANNEL = {
    "uh",
    "huh",
    "uh-huh",
    "uhhuh",
    "mm",
    "mhm",
    "mm-hmm",
    "hmm",
    "yeah",
    "yep",
    "ok",
    "okay",
    "right",
    "sure",
}
_WORD = re.compile(r"[a-z\-]+")


def is_back_channel(transcript: str) -> bool:
    """True for listener noises ("uh-huh", "mm-hmm", "okay") that must not stop the bot."""
    words = _WORD.findall(transcript.lower())
    return bool(words) and all(w in BACK_CHANNEL for w in words)


class SpeechDetector:
    """Fed every inbound frame; reports the onset of sustained speech and when speech last ended."""

    def __init__(self, sensitivity: str):
        self.sensitivity = SENSITIVITIES[sensitivity]
        self._vad = webrtcvad.Vad(self.sensitivity.aggressiveness)
        self.run = 0  # consecutive voiced frames
        self.last_voiced_at = 0.0  # monotonic time of the latest voiced frame
        # Pauses are counted in audio, not wall time: frames that reach us late and bunched (a
        # jittery network, a busy process) must not look like the caller stopping mid-sentence.
        self.quiet_frames = 0  # frames since the latest voiced one

    def feed(self, frame: bytes) -> bool:
        """True exactly once per stretch of speech, when it has lasted long enough to count."""
        if len(frame) != FRAME_BYTES:
            return False  # Twilio sends 160-byte frames; anything else is not worth guessing about
        pcm = audioop.ulaw2lin(frame, 2)
        # webrtcvad keeps saying "speech" for a few frames after a sound stops (its hangover);
        # requiring some energy too stops a 60 ms click from looking like 140 ms of talk.
        if audioop.rms(pcm, 2) >= MIN_RMS and self._vad.is_speech(pcm, 8000):
            self.last_voiced_at = time.monotonic()
            self.quiet_frames = 0
            self.run += 1
            return self.run == self.sensitivity.frames
        self.run = 0
        self.quiet_frames += 1
        return False

    @property
    def quiet_ms(self) -> int:
        """How much audio has come since the caller's latest voiced frame."""
        return self.quiet_frames * FRAME_MS
