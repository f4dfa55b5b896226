"""Privacy over the API (`/api/v1/privacy/`): erase or export a contact, retention, the audit log.

A workspace API key: `conversations:read` exports and reads the log, `conversations:write`
erases and sets retention."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema
from ninja.pagination import paginate

from bots.access import WorkspaceKeyAuth
from bots.models import Workspace
from channels_app.callers import caller_workspace_ids
from config.api import ApiError, ErrorOut, Pagination
from privacy import services
from privacy.models import AuditEntry

router = Router(tags=["privacy"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


class ContactIn(Schema):
    contact_id: str


class ErasedOut(Schema):
    conversations: int
    messages: int
    memory: int


class RetentionIn(Schema):
    days: int | None


class RetentionOut(Schema):
    days: int | None


class AuditOut(Schema):
    created_at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    target: str
    detail: dict


def _workspace(request, scope: str) -> Workspace:
    return Workspace.objects.get(pk=caller_workspace_ids(request, scope)[0])


def _call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except services.PrivacyError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


@router.post("/contacts/erase", response={200: ErasedOut, **ERRORS}, auth=[WorkspaceKeyAuth()])
def erase_contact(request, data: ContactIn):
    """Delete everything held about a contact: conversations, messages, traces, LLM call logs,
    handoffs, session state, memory, webhook deliveries. Cannot be undone."""
    return _call(
        services.erase_contact, workspace=_workspace(request, "conversations:write"), contact_id=data.contact_id
    )


@router.post("/contacts/export", response={200: dict, **ERRORS}, auth=[WorkspaceKeyAuth()])
def export_contact(request, data: ContactIn):
    """A contact's conversations, messages (redacted) and memory as JSON."""
    return _call(
        services.export_contact, workspace=_workspace(request, "conversations:read"), contact_id=data.contact_id
    )


@router.put("/retention", response={200: RetentionOut, **ERRORS}, auth=[WorkspaceKeyAuth()])
def set_retention(request, data: RetentionIn):
    """Days to keep conversations after their last message (1–3650), or null to keep them."""
    _call(services.set_retention, workspace=_workspace(request, "conversations:write"), days=data.days)
    return {"days": data.days}


@router.get("/audit", response={200: list[AuditOut], **ERRORS}, auth=[WorkspaceKeyAuth()])
@paginate(Pagination)
def audit_log(request):
    """Who changed which bot, flow, prompt, tool, secret, rule or key, publishes and rollbacks,
    erasures and exports; newest first."""
    return AuditEntry.objects.filter(workspace_id__in=caller_workspace_ids(request, "conversations:read"))
