"""Workspace API keys and secrets: owners only, through a logged-in session."""

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from bots import access, services
from bots.access import MANAGE
from bots.api.common import AUTH, ERRORS, user_of
from bots.models import API_SCOPES, ApiKey, Secret
from config.api import ApiError
from dialogue import netguard

router = Router(auth=AUTH, tags=["workspace"])


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
    allowed_hosts: list[str] = Field(
        min_length=1, max_length=50, description="The only hosts the secret may be sent to, e.g. api.shop.com."
    )


class SecretOut(Schema):
    id: int
    name: str
    masked: str
    allowed_hosts: list[str]
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
    key, raw = services.create_api_key(workspace=workspace, name=data.name, scopes=data.scopes, user=user_of(request))
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
    problems = [p for p in map(netguard.host_pattern_problem, data.allowed_hosts) if p]
    if problems:
        raise ApiError(422, "invalid_input", " ".join(problems))
    return services.set_secret(workspace=workspace, name=data.name, value=data.value, hosts=data.allowed_hosts)


@router.delete("/workspaces/{workspace_id}/secrets/{secret_id}", response={204: None, **ERRORS})
def delete_secret(request, workspace_id: int, secret_id: int):
    workspace = access.access_workspace(request.auth, workspace_id, MANAGE)
    deleted, _ = Secret.objects.filter(workspace=workspace, pk=secret_id).delete()
    if not deleted:
        raise ApiError(404, "not_found", "No such secret.")
    return Status(204, None)
