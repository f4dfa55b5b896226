"""What a bot is: the workspace it belongs to and its definition (edited as a draft)."""

from __future__ import annotations

import hashlib
import json
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible
from pydantic import ValidationError as SchemaError

from bots import crypto, schema


class Workspace(models.Model):
    """The tenant. Every bot, document, conversation and secret belongs to exactly one."""

    name = models.CharField(max_length=120, help_text="Shown in the admin, e.g. your company's name.")
    slug = models.SlugField(max_length=60, unique=True, help_text="Short name used in URLs.")
    tool_allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text="If set, the only host names tools, knowledge URLs and webhooks may call, e.g. "
        '["api.example.com", "*.example.org"]. Empty: any public host. The list only narrows: private '
        "and internal addresses stay refused unless private networks are allowed below.",
    )
    allow_private_networks = models.BooleanField(
        default=False,
        help_text="Let tools, knowledge URLs and webhooks reach loopback and private addresses (10.x, 192.168.x, "
        "localhost…). Only for an internal service you own: a builder could then reach anything on your network. "
        "Cloud metadata addresses stay refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner — everything, including members and secrets"
        BUILDER = "builder", "Builder — edits and publishes bots"
        AGENT = "agent", "Agent — works the handoff inbox"
        VIEWER = "viewer", "Viewer — reads only"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", help_text="The person."
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="memberships", help_text="The workspace they join."
    )
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.BUILDER, help_text="What they may do in this workspace."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_workspace")]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"


@deconstructible
class SchemaValidator:
    """A field validator that accepts the JSON only if the named pydantic schema of `bots.schema` does."""

    def __init__(self, schema_name: str):
        self.schema_name = schema_name

    def __call__(self, value):
        try:
            getattr(schema, self.schema_name).model_validate(value)
        except SchemaError as exc:
            raise ValidationError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    def __eq__(self, other):
        return isinstance(other, SchemaValidator) and other.schema_name == self.schema_name


def _public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def _webhook_key() -> str:
    return secrets.token_urlsafe(18)


class Bot(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="bots", help_text="The team or company this bot belongs to."
    )
    name = models.CharField(max_length=120, help_text="What people see, e.g. “Acme Support”.")
    slug = models.SlugField(max_length=60, help_text="Short name used in URLs and exports.")
    public_key = models.CharField(
        max_length=40,
        unique=True,
        default=_public_key,
        editable=False,
        help_text="Goes in the widget's script tag. Safe to show: it only lets people chat with the published bot.",
    )
    language = models.CharField(max_length=12, default="en", help_text="Language code, e.g. en or fr.")
    greeting = models.TextField(blank=True, help_text="The first thing the bot says when a conversation starts.")
    widget = models.JSONField(
        default=dict,
        blank=True,
        validators=[SchemaValidator("WidgetSettings")],
        help_text='How the chat bubble looks on your website: title, primary_color (e.g. "#4f46e5"), avatar_url, '
        "allowed_origins (websites allowed to embed it; empty means any).",
    )
    voice = models.JSONField(
        default=dict,
        blank=True,
        validators=[SchemaValidator("VoiceSettings")],
        help_text="How the bot listens and speaks on the phone: speech recognition model and language, voice, "
        "how long a pause ends the caller's turn (endpointing_ms), whether callers can interrupt (barge_in), "
        "silence timeout, maximum call length and the number calls are transferred to.",
    )
    session_ttl_s = models.PositiveIntegerField(
        default=3600, help_text="After this many seconds of silence a conversation starts afresh."
    )
    history_turns = models.PositiveSmallIntegerField(
        default=10, help_text="How many earlier messages the AI sees when it writes an answer."
    )
    nlu = models.CharField(
        max_length=5,
        choices=[
            ("local", "Built-in — learns from your intents' examples, no AI needed"),
            ("llm", "AI model — understands more phrasings; needs an AI key, else uses the built-in one"),
        ],
        default="local",
        verbose_name="How the bot understands intents",
        help_text="What decides which intent a message means.",
    )
    nlu_threshold = models.FloatField(
        default=0.45,
        help_text="How sure the bot must be (0 to 1) about what the user wants before acting on it; "
        "below this it uses the fallback route.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="bot_slug_unique_in_workspace")]

    def __str__(self):
        return self.name


class _BotPart(models.Model):
    """Something a bot is made of, named uniquely within the bot (flows refer to parts by name)."""

    bot = models.ForeignKey(
        Bot, on_delete=models.CASCADE, related_name="%(class)ss", help_text="The bot it belongs to."
    )
    name = models.CharField(
        max_length=80, help_text="A short name, unique in this bot. Flows refer to it by this name, e.g. “support”."
    )

    class Meta:
        abstract = True
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["bot", "name"], name="%(class)s_name_unique_in_bot")]

    def __str__(self):
        return self.name


class Flow(_BotPart):
    """A conversation path drawn as a graph of steps. Edited in the flow builder."""

    is_entry = models.BooleanField(default=False, help_text="New conversations start here. A bot has exactly one.")
    trigger_intents = models.JSONField(
        default=list, blank=True, help_text='Start this flow when the user wants one of these, e.g. ["cancel"].'
    )
    trigger_keywords = models.JSONField(
        default=list,
        blank=True,
        help_text='Start this flow when a message contains one of these words, e.g. ["refund"].',
    )
    graph = models.JSONField(
        default=dict,
        validators=[SchemaValidator("FlowGraph")],
        help_text="The steps of this flow and where each one goes next. Easiest to edit in the flow builder.",
    )
    revision = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Goes up on every save, so two people editing at once do not overwrite each other.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(_BotPart.Meta):
        pass


class Prompt(_BotPart):
    class Mode(models.TextChoices):
        CHAT = "chat", "Chat — may use lists and links"
        VOICE = "voice", "Voice — short spoken sentences, no formatting"
        BOTH = "both", "Both — chat and phone calls"

    system = models.TextField(
        help_text="Instructions for the AI: who it is, what it may and may not say, the tone to use."
    )
    mode = models.CharField(
        max_length=10,
        choices=Mode.choices,
        default=Mode.CHAT,
        help_text="Where this prompt answers. A step whose prompt does not fit the channel uses the bot's first "
        "prompt that does (e.g. a short spoken one for phone calls).",
    )
    model = models.CharField(max_length=80, default="gpt-4o-mini", help_text="The AI model that writes the answers.")
    fallback_models = models.JSONField(
        default=list, blank=True, help_text='Models to try, in order, if the first one is down, e.g. ["gpt-4o"].'
    )
    temperature = models.FloatField(
        default=0.3, help_text="0 gives the same careful answer every time; higher values are more varied (max 2)."
    )
    max_tokens = models.PositiveIntegerField(
        default=400, help_text="Longest answer, in tokens (about ¾ of a word each)."
    )

    class Meta(_BotPart.Meta):
        pass


class Tool(_BotPart):
    class Method(models.TextChoices):
        GET = "GET"
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"
        DELETE = "DELETE"

    description = models.TextField(blank=True, help_text="Tells the AI when to use this tool, in plain words.")
    method = models.CharField(
        max_length=6, choices=Method.choices, default=Method.GET, help_text="The kind of web request."
    )
    url = models.CharField(
        max_length=500,
        help_text="The address to call. Put parameters in double braces: https://api.example.com/orders/{{ order_id }}",
    )
    headers = models.JSONField(
        default=dict,
        blank=True,
        help_text='Extra request headers. Use a secret with {{ secrets.NAME }}, e.g. {"Authorization": "Bearer {{ secrets.SHOP_KEY }}"}.',
    )
    body = models.TextField(blank=True, help_text="For POST, PUT and PATCH: the JSON to send, with {{ parameters }}.")
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the tool needs, as a JSON Schema object, e.g. "
        '{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}.',
    )
    secrets = models.JSONField(default=list, blank=True, help_text="Names of workspace secrets this tool may use.")
    timeout_s = models.FloatField(default=8, help_text="Give up after this many seconds (at most 60).")
    response_field = models.CharField(
        max_length=200, blank=True, help_text="Keep only this part of the answer, e.g. data.status. Empty keeps it all."
    )
    max_chars = models.PositiveIntegerField(default=2000, help_text="Cut longer answers to this many characters.")

    class Meta(_BotPart.Meta):
        pass


class Intent(_BotPart):
    examples = models.JSONField(
        default=list,
        blank=True,
        help_text='Things a user might say when they want this, e.g. ["I want to cancel", "stop my order"]. Five or more help.',
    )
    always_handoff = models.BooleanField(default=False, help_text="Always pass these conversations to a person.")

    class Meta(_BotPart.Meta):
        pass


class EscalationRule(_BotPart):
    class Trigger(models.TextChoices):
        EXPLICIT_REQUEST = "explicit_request", "The user asks for a person"
        LOW_CONFIDENCE = "low_confidence", "The bot fails to understand N times in a row"
        NEGATIVE_SENTIMENT = "negative_sentiment", "The user sounds upset (mood below the threshold)"
        INTENT = "intent", "The user wants one of the listed intents"
        KEYWORD = "keyword", "The user says one of the listed keywords"
        TOOL_FAILURES = "tool_failures", "Tools fail N times"
        MAX_TURNS = "max_turns", "The conversation goes on for N turns"

    class Action(models.TextChoices):
        HANDOFF = "handoff", "Pass the chat to a person in a queue"
        TRANSFER = "transfer", "Transfer the phone call to a number (chats go to the queue)"
        COLLECT_CONTACT = "collect_contact", "Ask for an email or phone number and leave a callback request"
        MESSAGE = "message", "Only say the message, and carry on"

    bot = models.ForeignKey(
        Bot, on_delete=models.CASCADE, related_name="escalation_rules", help_text="The bot it belongs to."
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices, help_text="When to escalate.")
    threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="The N of the trigger (e.g. 3 failures), or for mood a score from -1 (angry) to 1 (happy).",
    )
    intents = models.JSONField(default=list, blank=True, help_text="For the intent trigger: intent names.")
    keywords = models.JSONField(default=list, blank=True, help_text="For the keyword trigger: words or phrases.")
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.HANDOFF, help_text="What to do.")
    queue = models.CharField(max_length=60, default="default", help_text="Which team's inbox receives the chat.")
    transfer_to = models.CharField(
        max_length=40, blank=True, help_text="For phone calls: the number to transfer to. Empty uses the bot's."
    )
    message = models.CharField(
        max_length=300,
        default="Let me connect you with a person who can help.",
        help_text="What the bot says: while it hands over, to ask for contact details, or on its own.",
    )

    class Meta(_BotPart.Meta):
        pass


class ChannelConnection(models.Model):
    """Where a bot is reachable: the web widget, WhatsApp, Slack or a phone number."""

    class Kind(models.TextChoices):
        WEB = "web", "Website chat widget"
        WHATSAPP = "whatsapp", "WhatsApp"
        SLACK = "slack", "Slack"
        SMS = "sms", "SMS (Twilio)"
        PHONE = "phone", "Phone calls"

    bot = models.ForeignKey(
        Bot, on_delete=models.CASCADE, related_name="channels", help_text="The bot that answers here."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, help_text="Where people reach the bot.")
    settings = models.JSONField(default=dict, blank=True, help_text="Options of this channel, e.g. a Slack team id.")
    credentials_encrypted = models.TextField(blank=True, editable=False)
    phone_number = models.CharField(
        max_length=20,
        blank=True,
        help_text="Phone calls and SMS: the number people call or text, e.g. +14155550100.",
    )
    external_id = models.CharField(
        max_length=120,
        blank=True,
        help_text="WhatsApp: the phone number id; Slack: the team id. Filled in when you connect the channel.",
    )
    webhook_key = models.CharField(
        max_length=40,
        unique=True,
        default=_webhook_key,
        editable=False,
        help_text="Part of this channel's webhook addresses, so each connection has its own.",
    )
    is_active = models.BooleanField(default=True, help_text="Untick to stop answering on this channel.")

    class Meta:
        verbose_name = "channel"
        ordering = ["id"]
        constraints = [
            # A number or account answers for one bot of one workspace only: a second claim would hijack it.
            models.UniqueConstraint(
                fields=["kind", "phone_number"], condition=~models.Q(phone_number=""), name="channel_number_unique"
            ),
            models.UniqueConstraint(
                fields=["kind", "external_id"], condition=~models.Q(external_id=""), name="channel_account_unique"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.bot}"

    @property
    def credentials(self) -> dict:
        return json.loads(crypto.decrypt(self.credentials_encrypted)) if self.credentials_encrypted else {}

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = crypto.encrypt(json.dumps(value)) if value else ""


class Secret(models.Model):
    """A password or API key a tool uses. Encrypted at rest, shown masked, never exported."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="secrets", help_text="Only this workspace's bots can use it."
    )
    name = models.CharField(
        max_length=60,
        help_text="Upper-case name that tools use, e.g. SHOP_API_KEY (written {{ secrets.SHOP_API_KEY }}).",
    )
    value_encrypted = models.TextField(editable=False)
    masked = models.CharField(max_length=20, editable=False, help_text="The first and last letters only.")
    allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text="The only hosts this secret may be sent to, e.g. api.shop.com or *.shop.com. "
        "A tool that would send it anywhere else fails and says so.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="secret_name_unique_in_workspace")]

    def __str__(self):
        return f"{self.name} ({self.masked})"

    def set_value(self, plain: str) -> None:
        self.value_encrypted = crypto.encrypt(plain)
        self.masked = crypto.mask(plain)

    def reveal(self) -> str:
        """The plain value, for the tool runner only: never render or log it."""
        return crypto.decrypt(self.value_encrypted)


class BotVersion(models.Model):
    """One published, immutable version of a bot. Channels serve the current one."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="versions", help_text="The bot published.")
    number = models.PositiveIntegerField(help_text="1 for the first publish, then 2, 3, …")
    snapshot = models.JSONField(help_text="Everything the bot was made of when it was published.")
    content_hash = models.CharField(max_length=64, help_text="Same definitions give the same fingerprint.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Who published it (empty when published with an API key).",
    )
    note = models.CharField(max_length=300, blank=True, help_text="What changed, in a few words.")
    created_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=False, help_text="The version every channel serves right now.")
    nlu_model = models.BinaryField(null=True, editable=False)

    class Meta:
        verbose_name = "published version"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "number"], name="version_number_unique_in_bot"),
            models.UniqueConstraint(
                fields=["bot"], condition=models.Q(is_current=True), name="one_current_version_per_bot"
            ),
        ]

    def __str__(self):
        return f"{self.bot} v{self.number}"


API_SCOPES = ("bots:read", "bots:write", "bots:publish", "conversations:read", "conversations:write")


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A key for the management API, stored as a SHA-256 hash: the full key is shown once."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="api_keys", help_text="The key only reaches this workspace."
    )
    name = models.CharField(max_length=80, help_text="What uses this key, e.g. “CI deploy”.")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Lets you recognise the key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="What the key may do: " + ", ".join(API_SCOPES) + ".")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, help_text="Who made the key."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Updated at most once a minute while the key is in use."
    )
    revoked = models.BooleanField(default=False, help_text="Tick to stop this key from working.")

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
