"""The only way views, the admin, the API and consumers fetch a workspace's data.

A user reaches a workspace through a Membership whose role allows the action; an API key
reaches its own workspace within its scopes; a superuser reaches everything. Anything else
answers 404, exactly like an id that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer

from bots.models import ApiKey, Bot, Membership, Workspace, hash_api_key

Role = Membership.Role

READ = "read"  # see bots and their versions
EDIT = "edit"  # change drafts
PUBLISH = "publish"  # publish, roll back
INBOX = "inbox"  # work the handoff inbox
MANAGE = "manage"  # members, secrets, API keys

ROLES_FOR = {
    READ: {Role.OWNER, Role.BUILDER, Role.VIEWER},
    EDIT: {Role.OWNER, Role.BUILDER},
    PUBLISH: {Role.OWNER, Role.BUILDER},
    INBOX: {Role.OWNER, Role.BUILDER, Role.AGENT},
    MANAGE: {Role.OWNER},
}
SCOPE_FOR = {READ: "bots:read", EDIT: "bots:write", PUBLISH: "bots:publish", INBOX: "conversations:write", MANAGE: None}


def workspaces_for(principal, action: str = READ) -> QuerySet[Workspace]:
    """Workspaces a user (or an API key) may perform `action` in."""
    if isinstance(principal, ApiKey):
        scope = SCOPE_FOR[action]
        if scope is None or not principal.has_scope(scope):
            return Workspace.objects.none()
        return Workspace.objects.filter(pk=principal.workspace_id)
    if principal is None or not principal.is_authenticated or not principal.is_active:
        return Workspace.objects.none()
    if principal.is_superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=principal, memberships__role__in=ROLES_FOR[action])


def bots_for(principal, action: str = READ) -> QuerySet[Bot]:
    return Bot.objects.filter(workspace__in=workspaces_for(principal, action))


def access_workspace(principal, workspace_id, action: str = READ) -> Workspace:
    try:
        return workspaces_for(principal, action).get(pk=int(workspace_id))
    except (Workspace.DoesNotExist, TypeError, ValueError):
        raise Http404("No such workspace.")


def access_bot(principal, bot_id, action: str = READ) -> Bot:
    """The bot, if `principal` may perform `action` on it; otherwise 404."""
    try:
        return bots_for(principal, action).select_related("workspace").get(pk=int(bot_id))
    except (Bot.DoesNotExist, TypeError, ValueError):
        raise Http404("No such bot.")


def access_part(principal, model, part_id, action: str = READ):
    """A bot's part (flow, prompt, version, ...) through its bot's workspace; otherwise 404."""
    try:
        return model.objects.select_related("bot").get(pk=int(part_id), bot__in=bots_for(principal, action))
    except (model.DoesNotExist, TypeError, ValueError):
        raise Http404("Not found.")


# --- django-ninja authentication ---------------------------------------------------------------


class WorkspaceKeyAuth(HttpBearer):
    """`Authorization: Bearer sb_...` — a workspace API key. `request.auth` is the ApiKey."""

    def authenticate(self, request, token):
        key = ApiKey.objects.select_related("workspace").filter(key_hash=hash_api_key(token), revoked=False).first()
        if key is None:
            return None
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:  # one write a minute at most
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key


class BotKeyAuth(APIKeyHeader):
    """`X-Bot-Key: pk_...` — a bot's public key, for end-user calls. `request.auth` is the Bot."""

    param_name = "X-Bot-Key"

    def authenticate(self, request, key):
        if not key:
            return None
        return Bot.objects.select_related("workspace").filter(public_key=key).first()
