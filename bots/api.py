"""Management API for bots: /api/v1/workspaces/..., /api/v1/bots/...

Authenticated by a workspace API key (`Authorization: Bearer sb_...`, scoped) or a logged-in
admin session (the flow builder). Every object is fetched through `bots.access`, so another
workspace's ids answer 404. Errors use the shared shape of `config.api`.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import BaseModel, Field, create_model
from pydantic import ValidationError as SchemaError

from bots import access, selectors, services
from bots.access import EDIT, MANAGE, PUBLISH, READ
from bots.diff import diff_snapshots
from bots.models import (
    API_SCOPES,
    ApiKey,
    Bot,
    BotVersion,
    ChannelConnection,
    EscalationRule,
    Flow,
    Intent,
    Prompt,
    Secret,
    Tool,
)
from bots.schema import EscalationSpec, IntentSpec, PromptSpec, ToolSpec, VoiceSettings, WidgetSettings
from bots.validation import validate_bot
from bots.yaml_io import ImportFailed, export_bot, import_bot
from config.api import ApiError, ErrorOut

router = Router(auth=[access.WorkspaceKeyAuth(), django_auth], tags=["bots"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _user(request):
    """The logged-in person behind the request, or None for an API key (versions record who published)."""
    return None if isinstance(request.auth, ApiKey) else request.auth


def _conflict(message: str, **details):
    return ApiError(409, "conflict", message, details or None)


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
        raise _conflict(f"Another bot in this workspace already uses the slug “{bot.slug}”.")
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


# --- Flows (the flow builder's endpoints: PUT carries the revision it edited) -----------------------


class Problem(Schema):
    code: str
    message: str
    path: str
    flow: str | None
    node: str | None
    field: str | None


class FlowIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    is_entry: bool = False
    trigger_intents: list[str] = []
    trigger_keywords: list[str] = []
    graph: dict = Field(default_factory=dict)


class FlowPut(Schema):
    revision: int
    name: str | None = Field(default=None, min_length=1, max_length=80)
    is_entry: bool | None = None
    trigger_intents: list[str] | None = None
    trigger_keywords: list[str] | None = None
    graph: dict | None = None


class FlowOut(Schema):
    id: int
    bot_id: int
    name: str
    is_entry: bool
    trigger_intents: list[str]
    trigger_keywords: list[str]
    graph: dict
    revision: int
    problems: list[Problem] = []


def _flow_out(flow: Flow) -> dict:
    problems = [p.as_dict() for p in validate_bot(selectors.draft_snapshot(flow.bot)) if p.flow == flow.name]
    return {**{f: getattr(flow, f) for f in FlowOut.model_fields if f != "problems"}, "problems": problems}


def _graph_error(exc: SchemaError):
    details = [{"path": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
    return ApiError(422, "invalid_flow", "The flow's steps are not in the expected shape.", details)


@router.get("/bots/{bot_id}/flows", response={200: list[FlowOut], **ERRORS})
def list_flows(request, bot_id: int):
    bot = access.access_bot(request.auth, bot_id, READ)
    return [_flow_out(f) for f in bot.flows.all()]


@router.post("/bots/{bot_id}/flows", response={201: FlowOut, **ERRORS})
def create_flow(request, bot_id: int, data: FlowIn):
    bot = access.access_bot(request.auth, bot_id, EDIT)
    if bot.flows.filter(name=data.name).exists():
        raise _conflict(f"This bot already has a flow called “{data.name}”.")
    try:
        flow = services.create_flow(bot=bot, **data.dict())
    except SchemaError as exc:
        raise _graph_error(exc)
    return Status(201, _flow_out(flow))


@router.get("/flows/{flow_id}", response={200: FlowOut, **ERRORS})
def get_flow(request, flow_id: int):
    return _flow_out(access.access_part(request.auth, Flow, flow_id, READ))


@router.put("/flows/{flow_id}", response={200: FlowOut, **ERRORS})
def put_flow(request, flow_id: int, data: FlowPut):
    """Save the flow if nobody saved it since `revision`; otherwise 409 with `current_revision`."""
    flow = access.access_part(request.auth, Flow, flow_id, EDIT)
    fields = {k: getattr(data, k) for k in data.model_fields_set - {"revision"} if getattr(data, k) is not None}
    if "name" in fields and flow.bot.flows.filter(name=fields["name"]).exclude(pk=flow.pk).exists():
        raise _conflict(f"This bot already has a flow called “{fields['name']}”.")
    try:
        flow = services.save_flow(flow=flow, revision=data.revision, **fields)
    except services.StaleRevision as exc:
        raise ApiError(
            409,
            "stale_revision",
            "Someone saved this flow after you opened it. Reload it to see their changes.",
            {"current_revision": exc.current},
        )
    except SchemaError as exc:
        raise _graph_error(exc)
    return _flow_out(flow)


@router.delete("/flows/{flow_id}", response={204: None, **ERRORS})
def delete_flow(request, flow_id: int):
    access.access_part(request.auth, Flow, flow_id, EDIT).delete()
    return Status(204, None)


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
            raise _conflict(f"This bot already has a {label} called “{obj.name}”.")
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

    @staticmethod
    def resolve_has_credentials(obj):
        return bool(obj.credentials_encrypted)


def _save_channel(channel: ChannelConnection, data: ChannelIn) -> ChannelConnection:
    for f in ("kind", "settings", "phone_number", "is_active"):
        setattr(channel, f, getattr(data, f))
    if data.credentials is not None:
        channel.credentials = data.credentials
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


# --- Validate, publish, versions, rollback, diff ----------------------------------------------------------


class ValidationOut(Schema):
    ok: bool
    problems: list[Problem]


class PublishIn(Schema):
    note: str = Field(default="", max_length=300)


class VersionOut(Schema):
    id: int
    number: int
    content_hash: str
    note: str
    author: str | None
    created_at: datetime
    is_current: bool

    @staticmethod
    def resolve_author(obj):
        return obj.author.get_username() if obj.author else None


class PublishOut(VersionOut):
    created: bool


class RollbackIn(Schema):
    version_id: int


class ChangeOut(Schema):
    kind: str
    where: str
    before: str
    after: str
    text: str


def _problems_error(problems):
    return ApiError(
        422,
        "invalid_definition",
        f"The bot has {len(problems)} problem(s) to fix before it can be published.",
        [p.as_dict() for p in problems],
    )


@router.post("/bots/{bot_id}/validate", response={200: ValidationOut, **ERRORS})
def validate(request, bot_id: int):
    bot = access.access_bot(request.auth, bot_id, READ)
    problems = validate_bot(selectors.draft_snapshot(bot))
    return {"ok": not problems, "problems": [p.as_dict() for p in problems]}


def _publish_out(version: BotVersion, created: bool) -> BotVersion:
    version.created = created  # read by PublishOut
    return version


@router.post("/bots/{bot_id}/publish", response={200: PublishOut, 201: PublishOut, **ERRORS})
def publish(request, bot_id: int, data: PublishIn):
    """Publish the draft. 201 with the new version, or 200 with the current one if nothing changed."""
    bot = access.access_bot(request.auth, bot_id, PUBLISH)
    try:
        version, created = services.publish_bot(bot=bot, user=_user(request), note=data.note)
    except services.InvalidDefinition as exc:
        raise _problems_error(exc.problems)
    return Status(201 if created else 200, _publish_out(version, created))


@router.get("/bots/{bot_id}/versions", response={200: list[VersionOut], **ERRORS})
def list_versions(request, bot_id: int):
    return selectors.versions_of(access.access_bot(request.auth, bot_id, READ))


@router.get("/versions/{version_id}/snapshot", response={200: dict, **ERRORS})
def get_snapshot(request, version_id: int):
    return access.access_part(request.auth, BotVersion, version_id, READ).snapshot


@router.post("/bots/{bot_id}/rollback", response={200: PublishOut, 201: PublishOut, **ERRORS})
def rollback(request, bot_id: int, data: RollbackIn):
    bot = access.access_bot(request.auth, bot_id, PUBLISH)
    version = access.access_part(request.auth, BotVersion, data.version_id, READ)
    if version.bot_id != bot.id:
        raise ApiError(404, "not_found", "This bot has no such version.")
    version, created = services.rollback_bot(bot=bot, version=version, user=_user(request))
    return Status(201 if created else 200, _publish_out(version, created))


@router.get("/bots/{bot_id}/diff", response={200: list[ChangeOut], **ERRORS})
def diff(request, bot_id: int, old: int, new: int):
    """What changed from version number `old` to version number `new`."""
    bot = access.access_bot(request.auth, bot_id, READ)
    found = {v.number: v.snapshot for v in bot.versions.filter(number__in=[old, new]).only("number", "snapshot")}
    missing = [n for n in (old, new) if n not in found]
    if missing:
        raise ApiError(404, "not_found", f"This bot has no version {missing[0]}.")
    changes = diff_snapshots(found[old], found[new])
    return [{"kind": c.kind, "where": c.where, "before": c.before, "after": c.after, "text": str(c)} for c in changes]


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


# --- Workspace API keys and secrets (owners, logged in) ------------------------------------------------------------


class ApiKeyIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    scopes: list[str] = Field(min_length=1)


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown this once


class SecretIn(Schema):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Z][A-Z0-9_]*$")
    value: str = Field(min_length=1, max_length=4000)


class SecretOut(Schema):
    id: int
    name: str
    masked: str
    updated_at: datetime


@router.get("/workspaces/{workspace_id}/api-keys", response={200: list[ApiKeyOut], **ERRORS})
def list_api_keys(request, workspace_id: int):
    return access.access_workspace(request.auth, workspace_id, MANAGE).api_keys.all()


@router.post("/workspaces/{workspace_id}/api-keys", response={201: ApiKeyCreated, **ERRORS})
def create_api_key(request, workspace_id: int, data: ApiKeyIn):
    workspace = access.access_workspace(request.auth, workspace_id, MANAGE)
    unknown = sorted(set(data.scopes) - set(API_SCOPES))
    if unknown:
        raise ApiError(422, "invalid_input", f"Unknown scope(s): {', '.join(unknown)}.", {"allowed": list(API_SCOPES)})
    key, raw = services.create_api_key(workspace=workspace, name=data.name, scopes=data.scopes, user=_user(request))
    return Status(201, {**ApiKeyOut.from_orm(key).dict(), "key": raw})


@router.delete("/workspaces/{workspace_id}/api-keys/{key_id}", response={204: None, **ERRORS})
def revoke_api_key(request, workspace_id: int, key_id: int):
    workspace = access.access_workspace(request.auth, workspace_id, MANAGE)
    updated = ApiKey.objects.filter(workspace=workspace, pk=key_id).update(revoked=True)
    if not updated:
        raise ApiError(404, "not_found", "No such API key.")
    return Status(204, None)


@router.get("/workspaces/{workspace_id}/secrets", response={200: list[SecretOut], **ERRORS})
def list_secrets(request, workspace_id: int):
    return access.access_workspace(request.auth, workspace_id, MANAGE).secrets.all()


@router.put("/workspaces/{workspace_id}/secrets", response={200: SecretOut, **ERRORS})
def put_secret(request, workspace_id: int, data: SecretIn):
    """Create or replace a secret. The answer shows it masked; it is never shown in full again."""
    workspace = access.access_workspace(request.auth, workspace_id, MANAGE)
    return services.set_secret(workspace=workspace, name=data.name, value=data.value)


@router.delete("/workspaces/{workspace_id}/secrets/{secret_id}", response={204: None, **ERRORS})
def delete_secret(request, workspace_id: int, secret_id: int):
    workspace = access.access_workspace(request.auth, workspace_id, MANAGE)
    deleted, _ = Secret.objects.filter(workspace=workspace, pk=secret_id).delete()
    if not deleted:
        raise ApiError(404, "not_found", "No such secret.")
    return Status(204, None)
