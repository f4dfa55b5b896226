"""The contract every messaging platform implements, and the registry of platforms by kind.

An adapter only translates: a verified webhook body into `Incoming` messages and
`StatusUpdate`s, and an `Outgoing` message into the platform's API call. Everything else
(de-duplication, the turn, retries, records) is shared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from bots.models import ChannelConnection
from dialogue.events import Inbound

MAX_ID_LENGTH = 200  # of an event id, thread key or contact (channels_app.models)


@dataclass(frozen=True)
class Incoming:
    """One message a person sent, normalised.

    `thread_key` names the conversation (the person, and on Slack the thread); `address` is
    what the adapter needs to reply there; `contact` is the person across threads (memory).
    `media` is work the worker does before the turn (a voice note to transcribe)."""

    event_id: str
    thread_key: str
    address: dict
    contact: str
    kind: str = "text"  # text, button, media
    text: str = ""
    payload: str = ""
    media: dict = field(default_factory=dict)
    name: str = ""
    sent_at: int = 0  # when the person sent it (unix seconds), where the platform says; retries arrive late

    def __post_init__(self):
        # The worker stores these in columns of MAX_ID_LENGTH: a longer one is no platform's.
        for name in ("event_id", "thread_key", "contact"):
            if len(getattr(self, name)) > MAX_ID_LENGTH:
                raise BadPayload(f"{name} is longer than {MAX_ID_LENGTH} characters.")

    def as_dict(self) -> dict:
        return asdict(self)

    def inbound(self) -> Inbound:
        kind = "button" if self.kind == "button" else "text"
        return Inbound(kind=kind, text=self.text, payload=self.payload, ref=self.event_id)


@dataclass(frozen=True)
class StatusUpdate:
    """The platform's report on a message we sent (delivered, read, failed)."""

    external_id: str
    status: str  # one of conversations.models.Delivery
    error: str = ""


@dataclass
class Outgoing:
    """A message to send: the bot's reply (raw text, before redaction) or an agent's."""

    text: str
    buttons: list[dict] = field(default_factory=list)  # [{"title", "payload"}]
    citations: list[dict] = field(default_factory=list)
    replace: str = ""  # the platform id of a message to update instead (Slack's streamed reply)


class SendError(Exception):
    """A send the platform refused. `permanent` errors are not retried; the others are, after
    `retry_after` seconds when the platform says so (429's Retry-After)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class BadPayload(ValueError):
    """A signed body that is not what the platform sends: refused with 400, nothing changes."""


class Adapter:
    """One messaging platform. Subclasses set `kind` and implement the methods that raise."""

    kind: str = ""

    def webhook_urls(self, connection: ChannelConnection) -> dict[str, str]:
        """Label → public URL the builder pastes into the platform's console."""
        raise NotImplementedError

    def configure(self, connection: ChannelConnection) -> list[str]:
        """Before a connection is saved (admin or API): fill what is generated (a verify token) and
        `external_id` from its settings; return problems a builder can act on (empty when fine)."""
        return []

    def setup_values(self, connection: ChannelConnection) -> dict[str, str]:
        """Label → value the builder copies into the platform's console besides the URLs (verify token)."""
        return {}

    def address_for(self, connection: ChannelConnection, recipient: str) -> dict:
        """Where a test message to `recipient` (a phone number, a Slack channel id) goes."""
        raise NotImplementedError

    def handshake(self, request: HttpRequest, connection: ChannelConnection) -> HttpResponse | None:
        """Answer a platform's set-up check, else None. A GET is asked before any signature check
        (WhatsApp's carries its own verify token); a POST only once `verify` passed (Slack's
        url_verification), so nothing of an unsigned body is ever read. Raises `BadPayload`."""
        return None

    def verify(self, request: HttpRequest, connection: ChannelConnection) -> bool:
        """Whether the raw body is signed by the platform with this connection's secret."""
        raise NotImplementedError

    def parse(self, request: HttpRequest, connection: ChannelConnection) -> list[Incoming | StatusUpdate]:
        """The messages and status reports in a verified body; raises `BadPayload` for a malformed one."""
        raise NotImplementedError

    def ack(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)

    async def prepare(self, connection: ChannelConnection, item: Incoming) -> Inbound | Outgoing:
        """The turn's input for an incoming message, or a direct answer when there is nothing to run
        a turn on (an image). Voice notes are transcribed here."""
        return item.inbound()

    async def send(self, connection: ChannelConnection, address: dict, message: Outgoing) -> str:
        """Send (or, with `message.replace`, update) a message; return the platform's id for it.

        Raises `SendError`."""
        raise NotImplementedError

    def streamer(self, connection: ChannelConnection, address: dict):
        """An object with `async on_event(event)` and `streamed: list[str]` (ids of the messages it
        posted, one per finished message) for platforms that show a reply as it is written."""
        return None

    def window_closed(self, thread) -> str:
        """Why a free-form message cannot be sent to this thread now, or "" when it can."""
        return ""


def webhook_url(connection: ChannelConnection, endpoint: str = "") -> str:
    """The public address of one of the connection's webhooks, as the builder pastes it."""
    if endpoint:
        path = reverse("channel-webhook-endpoint", args=[connection.kind, connection.webhook_key, endpoint])
    else:
        path = reverse("channel-webhook", args=[connection.kind, connection.webhook_key])
    return settings.PUBLIC_BASE_URL + path


ADAPTERS: dict[str, Adapter] = {}


def register(adapter_class: type[Adapter]) -> type[Adapter]:
    ADAPTERS[adapter_class.kind] = adapter_class()
    return adapter_class


def adapter_for(kind: str) -> Adapter | None:
    from channels_app.messaging import registry  # noqa: F401  (imports every platform module)

    return ADAPTERS.get(kind)
