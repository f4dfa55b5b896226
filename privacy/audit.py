"""The audit log: every change to what a bot is made of, by whom.

Bots, flows, prompts, tools, intents, rules, channel connections, secrets, API keys and
memberships are changed from the admin, the management API, the builder, YAML import and
management commands. Rather than a call in each of those paths, one receiver per model
records the change, and a middleware remembers who is asking (a user or an API key) for the
request's duration. Publishing and rolling back are recorded from the version they create.
"""

from __future__ import annotations

import contextvars

from django.db.models.signals import post_delete, post_save

from privacy.models import AuditEntry

_request: contextvars.ContextVar = contextvars.ContextVar("audit_request", default=None)


class ActorMiddleware:
    """Remember the request, so a change made while serving it is put to its user or API key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def actor() -> tuple[object | None, str]:
    """(user or None, label) of whoever is making the current change."""
    request = _request.get()
    if request is None:
        return None, "Switchboard"
    key = getattr(request, "auth", None)
    if key is not None and hasattr(key, "prefix") and hasattr(key, "scopes"):
        return None, f"API key {key.prefix}…"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user, user.get_username()
    return None, "Switchboard"


def record(*, workspace_id: int, action: str, target_type: str, target_id="", target="", detail=None, user=None):
    who, label = actor()
    if user is not None:
        who, label = user, user.get_username()
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        user=who,
        actor=label,
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        target=str(target)[:200],
        detail=detail or {},
    )


def _workspace_id(instance) -> int | None:
    if getattr(instance, "workspace_id", None):
        return instance.workspace_id
    bot = getattr(instance, "bot", None)
    return getattr(bot, "workspace_id", None)


def _saved(sender, instance, created, raw=False, **_):
    if raw:
        return
    workspace_id = _workspace_id(instance)
    if workspace_id is None:
        return
    name = _TRACKED[sender]
    if name == "version":
        if not created:
            return
        action = (
            AuditEntry.Action.ROLLED_BACK if instance.note.startswith("Rolled back") else AuditEntry.Action.PUBLISHED
        )
        who = instance.author if instance.author_id else None
        record(workspace_id=workspace_id, action=action, target_type="bot", target_id=instance.bot_id,
               target=str(instance.bot), detail={"version": instance.number, "note": instance.note}, user=who)  # fmt: skip
        return
    action = AuditEntry.Action.CREATED if created else AuditEntry.Action.CHANGED
    record(workspace_id=workspace_id, action=action, target_type=name, target_id=instance.pk, target=_label(instance))


def _deleted(sender, instance, origin=None, **_):
    from bots.models import Workspace

    workspace_id = _workspace_id(instance)
    if workspace_id is None or _TRACKED[sender] == "version":
        return
    if isinstance(origin, Workspace) or getattr(origin, "model", None) is Workspace:
        return  # the whole workspace is going, its log with it
    record(
        workspace_id=workspace_id,
        action=AuditEntry.Action.DELETED,
        target_type=_TRACKED[sender],
        target_id=instance.pk,
        target=_label(instance),
    )


def _label(instance) -> str:
    # A secret's or key's name only: `str()` of every tracked model shows no secret value.
    return str(getattr(instance, "name", "") or instance)


_TRACKED: dict = {}


def connect() -> None:
    from bots import models as m

    _TRACKED.update(
        {
            m.Bot: "bot",
            m.Flow: "flow",
            m.Prompt: "prompt",
            m.Tool: "tool",
            m.Intent: "intent",
            m.EscalationRule: "rule",
            m.ChannelConnection: "channel",
            m.Secret: "secret",
            m.ApiKey: "api key",
            m.Membership: "member",
            m.BotVersion: "version",
        }
    )
    for model in _TRACKED:
        post_save.connect(_saved, sender=model, dispatch_uid=f"audit-save-{model.__name__}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"audit-delete-{model.__name__}")
