"""A bot's prompts, tools, intents, escalation rules and channels."""

from django.db import IntegrityError, transaction
from ninja import Router, Schema, Status
from pydantic import BaseModel, create_model

from bots import access
from bots.access import EDIT, READ
from bots.api.common import AUTH, ERRORS, conflict
from bots.models import ChannelConnection, EscalationRule, Intent, Prompt, Tool
from bots.schema import EscalationSpec, IntentSpec, PromptSpec, ToolSpec
from config.api import ApiError

router = Router(auth=AUTH, tags=["bots"])


# --- Prompts, tools, intents, escalation rules: the same five endpoints each ------------------------


def _part_routes(path: str, model, spec: type[BaseModel], label: str):
    out = create_model(f"{model.__name__}Out", __base__=spec, id=(int, ...))
    fields = list(spec.model_fields)

    def to_out(obj):
        return {"id": obj.id, **{f: getattr(obj, f) for f in fields}}

    def save(obj, data: BaseModel):
        for f in fields:
            setattr(obj, f, getattr(data, f))
        try:
            with transaction.atomic():
                obj.save()
        except IntegrityError:
            raise conflict(f"This bot already has a {label} called “{obj.name}”.")
        return to_out(obj)

    @router.get(f"/bots/{{bot_id}}/{path}", response={200: list[out], **ERRORS}, operation_id=f"list_{path}")
    def list_parts(request, bot_id: int):
        bot = access.access_bot(request.auth, bot_id, READ)
        return [to_out(o) for o in model.objects.filter(bot=bot)]

    @router.post(f"/bots/{{bot_id}}/{path}", response={201: out, **ERRORS}, operation_id=f"create_{path}")
    def create_part(request, bot_id: int, data: spec):
        bot = access.access_bot(request.auth, bot_id, EDIT)
        return Status(201, save(model(bot=bot), data))

    @router.get(f"/{path}/{{part_id}}", response={200: out, **ERRORS}, operation_id=f"get_{path}")
    def get_part(request, part_id: int):
        return to_out(access.access_part(request.auth, model, part_id, READ))

    @router.put(f"/{path}/{{part_id}}", response={200: out, **ERRORS}, operation_id=f"update_{path}")
    def update_part(request, part_id: int, data: spec):
        return save(access.access_part(request.auth, model, part_id, EDIT), data)

    @router.delete(f"/{path}/{{part_id}}", response={204: None, **ERRORS}, operation_id=f"delete_{path}")
    def delete_part(request, part_id: int):
        access.access_part(request.auth, model, part_id, EDIT).delete()
        return Status(204, None)


PARTS = (
    ("prompts", Prompt, PromptSpec, "prompt"),
    ("tools", Tool, ToolSpec, "tool"),
    ("intents", Intent, IntentSpec, "intent"),
    ("escalation-rules", EscalationRule, EscalationSpec, "escalation rule"),
)
for _path, _model, _spec, _label in PARTS:
    _part_routes(_path, _model, _spec, _label)


# --- Channels (credentials are write-only) -------------------------------------------------------------


class ChannelIn(Schema):
    kind: ChannelConnection.Kind
    settings: dict = {}
    phone_number: str = ""
    is_active: bool = True
    credentials: dict | None = None  # write-only: never returned


class ChannelOut(Schema):
    id: int
    kind: str
    settings: dict
    phone_number: str
    is_active: bool
    has_credentials: bool
    webhook_urls: dict[str, str]

    @staticmethod
    def resolve_has_credentials(obj):
        return bool(obj.credentials_encrypted)

    @staticmethod
    def resolve_webhook_urls(obj):
        from channels_app.messaging.base import adapter_for

        adapter = adapter_for(obj.kind)
        return adapter.webhook_urls(obj) if adapter is not None else {}


def _save_channel(channel: ChannelConnection, data: ChannelIn) -> ChannelConnection:
    from channels_app.messaging import connections  # the channels app builds on bots, not the reverse

    for f in ("kind", "settings", "phone_number", "is_active"):
        setattr(channel, f, getattr(data, f))
    if data.credentials is not None:
        channel.credentials = data.credentials
    problems = connections.configure(channel)
    if problems:
        raise ApiError(422, "channel_not_ready", " ".join(problems), {"problems": problems})
    channel.save()
    return channel


@router.get("/bots/{bot_id}/channels", response={200: list[ChannelOut], **ERRORS})
def list_channels(request, bot_id: int):
    return access.access_bot(request.auth, bot_id, READ).channels.all()


@router.post("/bots/{bot_id}/channels", response={201: ChannelOut, **ERRORS})
def create_channel(request, bot_id: int, data: ChannelIn):
    bot = access.access_bot(request.auth, bot_id, EDIT)
    return Status(201, _save_channel(ChannelConnection(bot=bot), data))


@router.put("/channels/{channel_id}", response={200: ChannelOut, **ERRORS})
def update_channel(request, channel_id: int, data: ChannelIn):
    return _save_channel(access.access_part(request.auth, ChannelConnection, channel_id, EDIT), data)


@router.delete("/channels/{channel_id}", response={204: None, **ERRORS})
def delete_channel(request, channel_id: int):
    access.access_part(request.auth, ChannelConnection, channel_id, EDIT).delete()
    return Status(204, None)
