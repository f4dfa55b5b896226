"""Phone calls: one `Call` per Twilio call leg, one `CallTurn` of latency figures per bot reply.

Audio is never stored; what was said lives on the call's `Conversation` (redacted messages).
"""

from __future__ import annotations

from django.db import models

from bots.models import Bot, Workspace
from conversations.models import Conversation


class Call(models.Model):
    class Outcome(models.TextChoices):
        ONGOING = "ongoing", "In progress"
        COMPLETED = "completed", "Ended by the bot"
        CALLER_HUNG_UP = "caller_hung_up", "Caller hung up"
        SILENCE = "silence", "Ended after the caller stayed silent"
        TRANSFERRED = "transferred", "Transferred to a person"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="calls")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="calls")
    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="call")
    call_sid = models.CharField(max_length=64, unique=True, help_text="Twilio's id of the call (CA…).")
    caller = models.CharField(max_length=32, blank=True, help_text="The caller's number, masked: +1•••••1234.")
    dialled = models.CharField(max_length=32, blank=True, help_text="The bot's number that was called.")
    stream_sid = models.CharField(max_length=64, blank=True, help_text="The media stream (MZ…) that carried the call.")
    twilio_status = models.CharField(max_length=20, default="ringing", help_text="Last status Twilio reported.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.ONGOING)
    transferred_to = models.CharField(max_length=200, blank=True)
    whisper = models.TextField(blank=True, help_text="Summary spoken to the person the call went to (redacted).")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True, help_text="As billed by Twilio.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["workspace", "bot", "-started_at"])]

    def __str__(self):
        return f"Call {self.call_sid} to {self.bot}"


class CallTurn(models.Model):
    """How long one reply took to reach the caller, split into vendor time and our own share.

    All figures are milliseconds from the end of the caller's speech (our VAD's last voiced
    frame), except the vendors' own durations (STT final, LLM first token, TTS first byte).
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    input_kind = models.CharField(max_length=10, default="speech", help_text="speech, dtmf or silence")
    stt_ms = models.FloatField(null=True, blank=True, help_text="End of speech → final transcript.")
    llm_first_token_ms = models.FloatField(
        null=True,
        blank=True,
        help_text="The LLM's own time before the first token, as the engine's gateway measured it.",
    )
    tts_first_byte_ms = models.FloatField(null=True, blank=True, help_text="Sentence sent → first audio byte.")
    first_audio_ms = models.FloatField(null=True, blank=True, help_text="End of speech → first audio frame sent.")
    platform_ms = models.FloatField(null=True, blank=True, help_text="First audio minus vendor time: our own share.")
    interrupted = models.BooleanField(default=False, help_text="The caller talked over this reply.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "index"]

    def __str__(self):
        return f"Turn {self.index} of {self.call_id}"
