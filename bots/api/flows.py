"""Flows, for the flow builder: PUT carries the revision it edited and answers 409 if it is stale."""

from ninja import Router, Schema, Status
from pydantic import Field
from pydantic import ValidationError as SchemaError

from bots import access, selectors, services
from bots.access import EDIT, READ
from bots.api.common import AUTH, ERRORS, Problem, conflict
from bots.models import Flow
from config.api import ApiError

router = Router(auth=AUTH, tags=["flows"])


# --- Flows (the flow builder's endpoints: PUT carries the revision it edited) -----------------------


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
    problems = [p.as_dict() for p in selectors.draft_problems(flow.bot) if p.flow == flow.name]
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
        raise conflict(f"This bot already has a flow called “{data.name}”.")
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
        raise conflict(f"This bot already has a flow called “{fields['name']}”.")
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
