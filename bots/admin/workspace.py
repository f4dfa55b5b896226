"""The workspace page (people and roles), secrets and API keys. Channels: `channels_app.admin`."""

from __future__ import annotations

from django.contrib import admin, messages
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from bots import access, services
from bots.access import MANAGE, READ
from bots.admin import forms as admin_forms
from bots.admin.scoping import ScopedInline, WorkspaceListFilter, WorkspaceScoped, people_in
from bots.models import ApiKey, Membership, Secret, Workspace


class MembershipInline(ScopedInline, TabularInline):
    model = Membership
    edit_action = MANAGE
    extra = 0
    verbose_name = "person"
    verbose_name_plural = "People and their roles"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Owners choose among people who already share a workspace with them; nobody browses all accounts.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = people_in(access.workspaces_for(request.user, MANAGE))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.WorkspaceForm
    workspace_path = "pk"
    change_action = MANAGE
    list_display = ["name", "slug", "bot_count"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return access.workspaces_for(request.user, READ)

    def _workspace_id(self, obj):
        return obj.pk

    def has_module_permission(self, request):
        return access.workspaces_for(request.user, READ).exists()

    def has_view_permission(self, request, obj=None):
        workspaces = access.workspaces_for(request.user, READ)
        return workspaces.filter(pk=obj.pk).exists() if obj else workspaces.exists()

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser  # new tenants are created by the installation's operator

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.allow_private_networks:
            messages.warning(
                request,
                f"{obj.name} may call private networks: anyone who can edit its bots can reach services inside "
                "your network. Turn it off when you no longer need it.",
            )

    @display(description="Bots")
    def bot_count(self, obj):
        return obj.bots.count()


@admin.register(Secret)
class SecretAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.SecretForm
    change_action = MANAGE
    list_display = ["name", "masked", "workspace", "updated_at"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name"]
    fields = ["workspace", "name", "value", "allowed_hosts", "masked"]
    readonly_fields = ["masked"]


@admin.register(ApiKey)
class ApiKeyAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.ApiKeyForm
    change_action = MANAGE
    list_display = ["name", "prefix", "workspace", "scopes", "last_used_at", "revoked"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        fields = ["workspace", "name", "scopes", "revoked"]
        return fields + self.readonly_fields if obj else fields[:3]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        obj.created_by = request.user
        raw = services.issue_api_key(obj)
        messages.success(request, f"Copy this key now, it will not be shown again: {raw}")
