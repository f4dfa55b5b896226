"""The admin, organised around the workspace and the bot.

Every admin here filters by the workspaces the person belongs to (through `bots.access`):
change lists, their filters, change views, related choices (workspaces, bots, people) and
autocomplete all go through `get_queryset`, `get_list_filter` and `formfield_for_foreignkey` of
`WorkspaceScoped`. Roles decide what one may do:
viewers read, builders edit and publish, owners also manage members, secrets and API keys.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from bots import access
from bots.access import EDIT, MANAGE, READ
from bots.models import Bot, Workspace


def builder_url(bot_id: int) -> str:
    return reverse("studio:builder", args=[bot_id])


def people_in(workspaces):
    """The accounts with a membership in one of `workspaces`: nobody browses all the installation's people."""
    return get_user_model().objects.filter(memberships__workspace__in=workspaces).distinct()


class WorkspaceScoped:
    """Filters everything by the person's workspaces. `workspace_path` leads from the model to its workspace."""

    workspace_path = "workspace"
    change_action = EDIT  # the role needed to add, change or delete

    def _workspaces(self, request, action_name):
        return access.workspaces_for(request.user, action_name)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(**{f"{self.workspace_path}__in": self._workspaces(request, self._read_action())})

    def _read_action(self):
        return MANAGE if self.change_action == MANAGE else READ

    def _workspace_id(self, obj):
        for part in self.workspace_path.split("__"):
            obj = getattr(obj, part)
        return obj.pk

    def has_module_permission(self, request):
        return self._workspaces(request, self._read_action()).exists()

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self.has_module_permission(request)
        return self._workspaces(request, self._read_action()).filter(pk=self._workspace_id(obj)).exists()

    def has_add_permission(self, request, obj=None):
        return self._workspaces(request, self.change_action).exists()

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self._workspaces(request, self.change_action).exists()
        return self._workspaces(request, self.change_action).filter(pk=self._workspace_id(obj)).exists()

    has_delete_permission = has_change_permission

    def save_model(self, request, obj, form, change):
        # Django checks a change list's editable columns against the model, not each row: a list
        # that shows rows the person may only read must not save them.
        if change and not self.has_change_permission(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def get_list_filter(self, request):
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry):
        # Django's filter on a relation lists every row of the related table, other workspaces'
        # names included; this one lists only what the person's own rows point to.
        if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
            return (entry, admin.RelatedOnlyFieldListFilter)
        return entry

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Related choices: only what the person may edit, never another workspace's objects.
        if db_field.related_model is Workspace:
            kwargs["queryset"] = self._workspaces(request, self.change_action)
        elif db_field.related_model is Bot:
            kwargs["queryset"] = access.bots_for(request.user, EDIT)
        elif db_field.related_model is get_user_model():
            kwargs["queryset"] = people_in(self._workspaces(request, self.change_action))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class WorkspaceListFilter(admin.SimpleListFilter):
    """The workspace filter of a change list, offering only the person's workspaces."""

    title = "workspace"
    parameter_name = "workspace"
    path = "workspace"

    def lookups(self, request, model_admin):
        return [(w.pk, w.name) for w in access.workspaces_for(request.user, READ)]

    def queryset(self, request, queryset):
        return queryset.filter(**{f"{self.path}__pk": self.value()}) if self.value() else queryset


class BotWorkspaceListFilter(WorkspaceListFilter):
    path = "bot__workspace"


class ScopedInline:
    """An inline's permissions follow its parent's workspace (a Bot's, or the Workspace itself),
    not Django's per-model permissions."""

    edit_action = EDIT

    def _allowed(self, request, obj, action_name):
        workspaces = access.workspaces_for(request.user, action_name)
        if obj is None:
            return workspaces.exists()
        return workspaces.filter(pk=obj.pk if isinstance(obj, Workspace) else obj.workspace_id).exists()

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, READ)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, obj, self.edit_action)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, self.edit_action)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, self.edit_action)
