"""Workspaces, bots, and bots as code (YAML export and import)."""

from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from ninja import Router, Schema, Status
from pydantic import BaseModel, Field

from bots import access
from bots.access import EDIT, READ
from bots.api.common import AUTH, ERRORS, conflict
from bots.models import Bot
from bots.schema import VoiceSettings, WidgetSettings
from bots.yaml_io import ImportFailed, export_bot, import_bot
from config.api import ApiError

router = Router(auth=AUTH, tags=["bots"])
MAX_IMPORT_BYTES = 1_000_000


# --- Workspaces ------------------------------------------------------------------------------------


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str


@router.get("/workspaces", response=list[WorkspaceOut])
def list_workspaces(request):
    return access.workspaces_for(request.auth, READ).order_by("name")


# --- Bots --------------------------------------------------------------------------------------------


class BotFields(Schema):
    name: str = Field(min_length=1, max_length=120)
    slug: str = Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    language: str = "en"
    greeting: str = ""
    widget: WidgetSettings = Field(default_factory=WidgetSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    session_ttl_s: int = Field(default=3600, ge=60)
    history_turns: int = Field(default=10, ge=0, le=100)
    nlu: Literal["local", "llm"] = "local"
    nlu_threshold: float = Field(default=0.45, ge=0, le=1)


class BotIn(BotFields):
    workspace_id: int


class BotPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    language: str | None = None
    greeting: str | None = None
    widget: WidgetSettings | None = None
    voice: VoiceSettings | None = None
    session_ttl_s: int | None = Field(default=None, ge=60)
    history_turns: int | None = Field(default=None, ge=0, le=100)
    nlu: Literal["local", "llm"] | None = None
    nlu_threshold: float | None = Field(default=None, ge=0, le=1)


class BotOut(BotFields):
    id: int
    workspace_id: int
    public_key: str
    published_version: int | None

    @staticmethod
    def resolve_published_version(bot):
        return bot.versions.filter(is_current=True).values_list("number", flat=True).first()


def _save_bot(bot: Bot, values: dict) -> Bot:
    for key, value in values.items():
        setattr(bot, key, value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
    try:
        with transaction.atomic():
            bot.save()
    except IntegrityError:
        raise conflict(f"Another bot in this workspace already uses the slug “{bot.slug}”.")
    return bot


@router.get("/bots", response=list[BotOut])
def list_bots(request):
    return access.bots_for(request.auth, READ).order_by("name")


@router.post("/bots", response={201: BotOut, **ERRORS})
def create_bot(request, data: BotIn):
    workspace = access.access_workspace(request.auth, data.workspace_id, EDIT)
    return Status(201, _save_bot(Bot(workspace=workspace), data.dict(exclude={"workspace_id"})))


@router.get("/bots/{bot_id}", response={200: BotOut, **ERRORS})
def get_bot(request, bot_id: int):
    return access.access_bot(request.auth, bot_id, READ)


@router.patch("/bots/{bot_id}", response={200: BotOut, **ERRORS})
def update_bot(request, bot_id: int, data: BotPatch):
    bot = access.access_bot(request.auth, bot_id, EDIT)
    return _save_bot(bot, {k: getattr(data, k) for k in data.model_fields_set})


@router.delete("/bots/{bot_id}", response={204: None, **ERRORS})
def delete_bot(request, bot_id: int):
    access.access_bot(request.auth, bot_id, EDIT).delete()
    return Status(204, None)


# --- Bots as code -----------------------------------------------------------------------------------------------


@router.get("/bots/{bot_id}/export", response={200: None, **ERRORS})
def export(request, bot_id: int):
    """The bot's draft as YAML (secrets by name only)."""
    bot = access.access_bot(request.auth, bot_id, READ)
    response = HttpResponse(export_bot(bot), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{bot.slug}.yaml"'
    return response


@router.post("/workspaces/{workspace_id}/import", response={201: BotOut, **ERRORS})
def import_yaml(request, workspace_id: int):
    """Body: a YAML export. Creates the bot, or replaces the draft of the bot with the same slug."""
    workspace = access.access_workspace(request.auth, workspace_id, EDIT)
    if len(request.body) > MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", f"A bot export is at most {MAX_IMPORT_BYTES // 1000} kB.")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "Send the YAML as UTF-8 text.")
    try:
        bot = import_bot(workspace=workspace, text=text)
    except ImportFailed as exc:
        raise ApiError(
            422, "invalid_import", f"The YAML has {len(exc.errors)} problem(s); nothing was changed.", exc.errors
        )
    return Status(201, bot)
