"""The flow language and the published snapshot, as pydantic models.

These names are stored (flows in the database, snapshots in BotVersion, YAML exports): node
kinds and field names are an API and are never renamed casually. `tests/test_stored_names.py`
pins them.

A flow is `{"entry": node_id, "nodes": [...]}`; each node has an `id`, a `kind` and its own
fields; `next`-like fields hold the id of the node to go to. A missing `next` means "wait for
the user's next message, then continue from the flow's trigger or the LLM".
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Position(_Strict):
    x: float = 0
    y: float = 0


class Button(_Strict):
    title: str = Field(min_length=1, max_length=40)
    payload: str = Field(default="", max_length=200)  # sent back as a button payload; defaults to title


class _Node(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    label: str = ""  # shown on the canvas
    position: Position | None = None  # set by the flow builder


class MessageNode(_Node):
    kind: Literal["message"]
    text: str  # Jinja2 (sandboxed) over slots: "Thanks {{ name }}!"
    buttons: list[Button] = Field(default_factory=list, max_length=10)
    next: str | None = None


SlotType = Literal["text", "number", "email", "phone", "date", "choice", "regex", "digits"]


class AskNode(_Node):
    kind: Literal["ask"]
    slot: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    prompt: str  # template
    type: SlotType = "text"
    choices: list[str] = Field(default_factory=list)  # for type "choice"; also shown as buttons
    pattern: str | None = None  # for type "regex"
    retries: int = Field(default=2, ge=0, le=10)  # re-asks after a failed validation
    reprompt: str = ""  # template; default: the prompt again with a hint about the expected type
    next: str | None = None  # after a valid answer
    on_failure: str | None = None  # after the last failed retry; None = hand to the LLM / fallback
    # Keep the answer in the contact's long-term memory for later conversations (never a card
    # number, SSN or IBAN: those are dropped whatever this says).
    remember: bool = False


class Condition(_Strict):
    when: str  # safe expression over slots, intent, channel, time: `plan == "pro" and age >= 18`
    next: str


class BranchNode(_Node):
    kind: Literal["branch"]
    conditions: list[Condition] = Field(min_length=1)
    otherwise: str | None = Field(default=None, alias="else")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class IntentRoute(_Strict):
    intent: str
    next: str


class IntentNode(_Node):
    kind: Literal["intent"]
    routes: list[IntentRoute] = Field(min_length=1)
    fallback: str | None = None  # out of scope or below the confidence threshold


class LlmNode(_Node):
    kind: Literal["llm"]
    prompt: str  # name of a Prompt of this bot
    knowledge_bases: list[str] = Field(default_factory=list)  # knowledge base names
    tools: list[str] = Field(default_factory=list)  # tool names the LLM may call
    flows: list[str] = Field(default_factory=list)  # flows the LLM may start ("start_flow" tool)
    next: str | None = None  # None: stay in the LLM for following turns


class ToolNode(_Node):
    kind: Literal["tool"]
    tool: str  # name of a Tool of this bot
    arguments: dict[str, str] = Field(default_factory=dict)  # parameter -> template over slots
    result_slot: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")
    next: str | None = None
    on_error: str | None = None


class SetNode(_Node):
    kind: Literal["set"]
    values: dict[str, str] = Field(default_factory=dict)  # slot -> template
    clear: list[str] = Field(default_factory=list)
    next: str | None = None


class HandoffNode(_Node):
    kind: Literal["handoff"]
    queue: str = "default"
    message: str = "Let me connect you with a person who can help."
    transfer_to: str = ""  # voice: phone number or SIP address; empty = the bot's transfer number


class EndNode(_Node):
    kind: Literal["end"]
    message: str = ""


Node = Annotated[
    MessageNode | AskNode | BranchNode | IntentNode | LlmNode | ToolNode | SetNode | HandoffNode | EndNode,
    Field(discriminator="kind"),
]
NODE_KINDS = ("message", "ask", "branch", "intent", "llm", "tool", "set", "handoff", "end")


class FlowGraph(_Strict):
    entry: str | None = None
    nodes: list[Node] = Field(default_factory=list)


# --- The published snapshot: everything a channel needs to run the bot, resolved ----------------


class FlowSpec(_Strict):
    name: str
    is_entry: bool = False  # the flow a new conversation starts in
    trigger_intents: list[str] = Field(default_factory=list)
    trigger_keywords: list[str] = Field(default_factory=list)
    graph: FlowGraph


class PromptSpec(_Strict):
    name: str
    system: str
    mode: Literal["chat", "voice", "both"] = "chat"
    model: str = "gpt-4o-mini"
    fallback_models: list[str] = Field(default_factory=list)
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=400, ge=1, le=16000)

    @property
    def models(self) -> list[str]:
        """The chain the LLM gateway tries, in order: the model, then its fallbacks."""
        return [self.model, *self.fallback_models]


class ToolSpec(_Strict):
    name: str
    description: str = ""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str  # template over arguments: https://api.example.com/orders/{{ order_id }}
    headers: dict[str, str] = Field(default_factory=dict)  # values may use {{ secrets.NAME }}
    body: str = ""  # template (JSON) for POST/PUT/PATCH
    parameters: dict = Field(default_factory=lambda: {"type": "object", "properties": {}})  # JSON Schema
    secrets: list[str] = Field(default_factory=list)  # names of workspace Secrets it may use
    timeout_s: float = Field(default=8, gt=0, le=60)
    response_field: str = ""  # dotted path kept from the JSON response; empty = whole body
    max_chars: int = Field(default=2000, ge=50, le=20000)


class IntentSpec(_Strict):
    name: str
    examples: list[str] = Field(default_factory=list)
    always_handoff: bool = False


class EscalationSpec(_Strict):
    name: str
    trigger: Literal[
        "explicit_request", "low_confidence", "negative_sentiment", "intent", "keyword", "tool_failures", "max_turns"
    ]
    threshold: float | None = None  # low_confidence: streak N; negative_sentiment: score; tool_failures / max_turns: N
    intents: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    action: Literal["handoff", "transfer", "collect_contact", "message"] = "handoff"
    queue: str = "default"
    transfer_to: str = ""
    message: str = "Let me connect you with a person who can help."


VOICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class VoiceSettings(_Strict):
    stt_model: str = "nova-3"
    stt_language: str = "en"
    tts_voice: str = "21m00Tcm4TlvDq8ikWAM"
    tts_model: str = "eleven_flash_v2_5"
    tts_fallback_voice: str = ""
    tts_fallback_model: str = "eleven_turbo_v2_5"
    speaking_rate: float = Field(default=1.0, ge=0.7, le=1.2)  # ElevenLabs' `speed`: 1 is natural
    endpointing_ms: int = 300
    utterance_end_ms: int = 1000
    barge_in: bool = True
    # tolerant: listener noises ("uh-huh", "okay") and sounds under ~0.6 s never stop the bot; words do.
    barge_in_sensitivity: Literal["tolerant", "medium", "high"] = "medium"
    silence_timeout_s: float = 8
    silence_reprompts: int = 2
    max_call_s: int = 900
    transfer_number: str = ""
    dtmf: bool = True  # callers may type digits on the keypad
    dtmf_finish_key: Literal["#", "*", ""] = "#"  # sends the digits typed so far at once
    dtmf_gap_s: float = Field(default=1.5, ge=0.5, le=10)  # digits further apart are separate answers

    @field_validator("barge_in_sensitivity", mode="before")
    @classmethod
    def _earlier_name(cls, value):
        return "tolerant" if value == "low" else value  # what "tolerant" was called before

    @field_validator("tts_voice", "tts_fallback_voice")
    @classmethod
    def _voice_id(cls, value: str, info):
        # The id goes into the path of ElevenLabs' URL: a "/" or ".." would reach another endpoint.
        if VOICE_ID.fullmatch(value) or (value == "" and info.field_name == "tts_fallback_voice"):
            return value
        raise PydanticCustomError(
            "voice_id",
            "“{value}” is not an ElevenLabs voice id. Copy the voice's id from ElevenLabs' voice library "
            "(letters, digits, - and _, e.g. 21m00Tcm4TlvDq8ikWAM), or choose a voice on the bot's Voice tab.",
            {"value": value[:80]},
        )


class WidgetSettings(_Strict):
    title: str = "Chat with us"
    primary_color: str = "#4f46e5"
    text_color: str = "#ffffff"  # text on the primary colour (header, the user's bubbles, buttons)
    avatar_url: str = ""
    launcher_position: Literal["right", "left"] = "right"  # bottom corner of the page
    allowed_origins: list[str] = Field(default_factory=list)  # empty: any origin


class ChannelSpec(_Strict):
    """Where the bot is reachable and how that channel is set up. Credentials are never in a snapshot."""

    kind: Literal["web", "whatsapp", "slack", "sms", "phone"]
    settings: dict = Field(default_factory=dict)
    phone_number: str = ""
    is_active: bool = True


class BotSnapshot(_Strict):
    """One immutable published version of a bot. `BotVersion.snapshot` stores its JSON."""

    schema_version: int = 1
    bot_id: int
    name: str
    slug: str
    language: str = "en"
    greeting: str = ""
    session_ttl_s: int = 3600
    nlu: Literal["local", "llm"] = "local"
    nlu_threshold: float = 0.45
    history_turns: int = 10
    widget: WidgetSettings = Field(default_factory=WidgetSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    flows: list[FlowSpec] = Field(default_factory=list)
    prompts: list[PromptSpec] = Field(default_factory=list)
    tools: list[ToolSpec] = Field(default_factory=list)
    intents: list[IntentSpec] = Field(default_factory=list)
    escalation_rules: list[EscalationSpec] = Field(default_factory=list)
    knowledge_bases: list[dict] = Field(default_factory=list)  # [{"id": 1, "name": "FAQ"}]
    channels: list[ChannelSpec] = Field(default_factory=list)
