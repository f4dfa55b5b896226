"""Request and response bodies of the chat API (the frames themselves are in `protocol.py`)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from channels_app import protocol


class WidgetConfigOut(Schema):
    name: str = Field(examples=["Acme Support"])
    title: str = Field(examples=["Chat with us"])
    primary_color: str = Field(examples=["#4f46e5"])
    text_color: str = Field(description="Text on the primary colour.", examples=["#ffffff"])
    avatar_url: str = Field(examples=[""])
    launcher_position: str = Field(description="Bottom corner of the chat button.", examples=["right"])
    greeting: str = Field(examples=["Hi! I'm Acme's assistant. How can I help?"])
    language: str = Field(examples=["en"])
    strings: dict[str, str] = Field(
        description="The widget's own words (buttons, labels, notices) in the bot's language.",
        examples=[{"send": "Enviar", "placeholder": "Escribe tu mensaje…"}],
    )


class ConversationIn(Schema):
    bot_id: int | None = Field(
        default=None, description="Required with a workspace API key; implied by X-Bot-Key.", examples=[1]
    )
    contact_id: str = Field(
        default="", max_length=200, description="Who the user is in your system.", examples=["crm-4711"]
    )
    contact_signature: str = Field(
        default="",
        max_length=200,
        description="With X-Bot-Key: HMAC-SHA256 of contact_id, in hex, keyed with the web channel's identity "
        "secret, computed by your backend. Without it a public caller cannot name a contact.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )


class ConversationOut(Schema):
    id: int = Field(examples=[42])
    token: str = Field(
        description="Send it as X-Conversation-Token with X-Bot-Key on later calls about this conversation.",
        examples=["WzQyLDFd:1tZ..."],
    )
    bot_id: int = Field(examples=[1])
    channel: str = Field(examples=["api"])
    status: str = Field(examples=["active"])
    started_at: datetime


class MessageIn(Schema):
    text: str = Field(
        description=f"What the user says, at most {protocol.MAX_TEXT_CHARS} characters.",
        examples=["Where is my order 1234?"],
    )
    payload: str = Field(
        default="", max_length=200, description="A quick-reply button's payload, when the user pressed one."
    )


class ReplyOut(Schema):
    conversation_id: int = Field(examples=[42])
    text: str = Field(description="Everything the bot said this turn.", examples=["Your order 1234 has shipped."])
    buttons: list[dict] = Field(
        description="Quick replies offered now.", examples=[[{"title": "Yes", "payload": "yes"}]]
    )
    citations: list[dict] = Field(examples=[[{"index": 1, "title": "Shipping FAQ", "url": "https://acme.test/faq"}]])
    events: list[dict] = Field(
        description="The turn's frames in order (as the SSE endpoint streams them, without text_delta).",
        examples=[[{"type": "message", "text": "Your order 1234 has shipped.", "buttons": [], "citations": []}]],
    )


class MessageOut(Schema):
    id: int
    role: str = Field(examples=["user"])
    text: str = Field(description="As stored: personal data is already redacted.", examples=["My email is [EMAIL]"])
    buttons: list[dict]
    citations: list[dict]
    interrupted: bool
    created_at: datetime


class ConversationSummaryOut(Schema):
    id: int
    bot_id: int
    channel: str
    contact_id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    turn_count: int
    handed_off: bool


class TranscriptOut(ConversationSummaryOut):
    summary: str
    messages: list[MessageOut]
