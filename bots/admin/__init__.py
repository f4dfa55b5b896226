"""The admin, organised around the workspace and the bot (see `scoping` for how it is filtered)."""

from bots.admin import bot, versions, workspace
from bots.admin.scoping import BotWorkspaceListFilter, ScopedInline, WorkspaceListFilter, WorkspaceScoped, builder_url

__all__ = [
    "bot",
    "versions",
    "workspace",
    "BotWorkspaceListFilter",
    "ScopedInline",
    "WorkspaceListFilter",
    "WorkspaceScoped",
    "builder_url",
]
