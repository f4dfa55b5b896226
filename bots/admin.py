"""The admin, organised around the workspace and the bot.

Every admin here filters by the workspaces the person belongs to (through `bots.access`):
change lists, change views, related choices and autocomplete all go through `get_queryset`
and `formfield_for_foreignkey` of `WorkspaceScopedAdmin`. Roles decide what one may do:
viewers read, builders edit and publish, owners also manage members, secrets and API keys.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.decorators import action, display

from bots import access, admin_forms, selectors, services
from bots.access import EDIT, MANAGE, PUBLISH, READ
from bots.diff import diff_snapshots
from bots.models import (
    ApiKey,
    Bot,
    BotVersion,
    ChannelConnection,
    EscalationRule,
    Flow,
    Intent,
    Membership,
    Prompt,
    Secret,
    Tool,
    Workspace,
)
from bots.validation import validate_bot


def builder_url(bot_id: int) -> str:
    return reverse("studio:builder", args=[bot_id])


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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Related choices: only what the person may edit, never another workspace's objects.
        if db_field.related_model is Workspace:
            kwargs["queryset"] = self._workspaces(request, self.change_action)
        elif db_field.related_model is Bot:
            kwargs["queryset"] = access.bots_for(request.user, EDIT)
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


# --- Workspace -------------------------------------------------------------------------------------------


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


class MembershipInline(ScopedInline, TabularInline):
    model = Membership
    edit_action = MANAGE
    extra = 0
    verbose_name = "person"
    verbose_name_plural = "People and their roles"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Owners choose among people who already share a workspace with them; nobody browses all accounts.
        if db_field.name == "user" and not request.user.is_superuser:
            mine = access.workspaces_for(request.user, MANAGE)
            kwargs["queryset"] = db_field.related_model.objects.filter(memberships__workspace__in=mine).distinct()
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

    @display(description="Bots")
    def bot_count(self, obj):
        return obj.bots.count()


# --- Bot and its parts ---------------------------------------------------------------------------------------


class PromptInline(ScopedInline, StackedInline):
    model = Prompt
    form = admin_forms.PromptForm
    extra = 0
    tab = True


class ToolInline(ScopedInline, StackedInline):
    model = Tool
    form = admin_forms.ToolForm
    extra = 0
    tab = True


class IntentInline(ScopedInline, TabularInline):
    model = Intent
    form = admin_forms.IntentForm
    extra = 0
    tab = True


class EscalationRuleInline(ScopedInline, StackedInline):
    model = EscalationRule
    form = admin_forms.EscalationRuleForm
    extra = 0
    tab = True
    verbose_name_plural = "Escalation rules (when to bring in a person)"


class FlowInline(ScopedInline, TabularInline):
    """Flows are drawn in the flow builder; here they are listed with links to it."""

    model = Flow
    extra = 0
    tab = True
    fields = ["name", "is_entry", "revision", "edit_links"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @display(description="Edit")
    def edit_links(self, obj):
        return format_html(
            '<a href="{}">Open in the flow builder</a> · <a href="{}">Edit as JSON</a>',
            builder_url(obj.bot_id),
            reverse("admin:bots_flow_change", args=[obj.pk]),
        )


@admin.register(Bot)
class BotAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.BotForm
    list_display = ["name", "workspace", "language", "published", "updated_at"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name", "slug"]
    readonly_fields = ["public_key"]
    fieldsets = [
        (None, {"fields": ["workspace", "name", "slug", "language", "greeting", "public_key"]}),
        ("Chat widget", {"fields": ["widget"], "classes": ["tab"]}),
        ("Phone calls", {"fields": ["voice"], "classes": ["tab"]}),
        ("Advanced", {"fields": ["session_ttl_s", "history_turns", "nlu_threshold"], "classes": ["tab"]}),
    ]
    inlines = [FlowInline, PromptInline, ToolInline, IntentInline, EscalationRuleInline]
    change_form_after_template = "admin/bots/bot/after_form.html"
    actions_detail = ["publish_action", "versions_action"]

    @display(description="Published")
    def published(self, obj):
        number = obj.versions.filter(is_current=True).values_list("number", flat=True).first()
        return f"version {number}" if number else "not yet"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        bot = access.access_bot(request.user, object_id, READ)
        extra_context = {
            **(extra_context or {}),
            "problems": validate_bot(selectors.draft_snapshot(bot)),
            "versions": selectors.versions_of(bot)[:10],
            "builder_url": builder_url(bot.pk),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        problems = validate_bot(selectors.draft_snapshot(form.instance))
        if problems:
            # Drafts may be unfinished: saving works, publishing waits until these are fixed.
            messages.warning(
                request,
                f"Saved. {len(problems)} thing(s) to fix before you can publish: "
                + " ".join(p.message for p in problems[:3]),
            )

    @action(description="Publish", url_path="publish", icon="rocket_launch")
    def publish_action(self, request, object_id):
        bot = access.access_bot(request.user, object_id, PUBLISH)
        snapshot = selectors.draft_snapshot(bot)
        problems = validate_bot(snapshot)
        if request.method == "POST":
            if not problems:
                version, created = services.publish_bot(bot=bot, user=request.user, note=request.POST.get("note", ""))
                if created:
                    messages.success(request, f"Published version {version.number}. Every channel now uses it.")
                else:
                    messages.info(request, f"Nothing changed since version {version.number}: no new version made.")
                return HttpResponseRedirect(reverse("admin:bots_bot_change", args=[bot.pk]))
        current = bot.versions.filter(is_current=True).first()
        changes = diff_snapshots(current.snapshot, snapshot.model_dump(mode="json")) if current else []
        return TemplateResponse(
            request,
            "admin/bots/publish.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Publish {bot.name}",
                "bot": bot,
                "problems": problems,
                "current": current,
                "changes": changes,
                "opts": self.model._meta,
            },
        )

    @action(description="Version history", url_path="versions", icon="history")
    def versions_action(self, request, object_id):
        bot = access.access_bot(request.user, object_id, READ)
        return HttpResponseRedirect(reverse("admin:bots_botversion_changelist") + f"?bot__id__exact={bot.pk}")


@admin.register(Flow)
class FlowAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.FlowForm
    workspace_path = "bot__workspace"
    list_display = ["name", "bot", "is_entry", "revision", "updated_at"]
    list_filter = [BotWorkspaceListFilter]
    search_fields = ["name", "bot__name"]
    autocomplete_fields = ["bot"]
    fields = ["bot", "name", "is_entry", "trigger_intents", "trigger_keywords", "graph", "revision_seen", "builder"]
    readonly_fields = ["builder"]

    @display(description="Flow builder")
    def builder(self, obj):
        if not obj.pk:
            return "Save the flow first, then draw it in the flow builder."
        return format_html('<a href="{}">Open “{}” in the flow builder</a>', builder_url(obj.bot_id), obj.name)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in ("name", "is_entry", "trigger_intents", "trigger_keywords")}
        if change:
            revision = form.cleaned_data.get("revision_seen") or obj.revision
            try:
                services.save_flow(
                    flow=Flow.objects.get(pk=obj.pk), revision=revision, graph=form.cleaned_data["graph"], **values
                )
            except services.StaleRevision:
                messages.error(
                    request, "Someone saved this flow at the same moment. Reload it and apply your change again."
                )
            obj.refresh_from_db()
        else:
            created = services.create_flow(bot=form.cleaned_data["bot"], graph=form.cleaned_data["graph"], **values)
            obj.pk = created.pk
            obj.refresh_from_db()


@admin.register(BotVersion)
class BotVersionAdmin(WorkspaceScoped, ModelAdmin):
    """Published versions are immutable: they can be read, compared and rolled back to."""

    workspace_path = "bot__workspace"
    list_display = ["__str__", "is_current", "author", "note", "created_at"]
    list_filter = [BotWorkspaceListFilter, "bot"]
    search_fields = ["bot__name", "note"]
    fields = ["bot", "number", "is_current", "author", "note", "created_at", "content_hash"]
    readonly_fields = fields
    change_form_after_template = "admin/bots/botversion/after_form.html"
    actions_detail = ["rollback_action"]

    def get_list_filter(self, request):
        return [BotWorkspaceListFilter]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bot", "author").defer("nlu_model")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = access.access_part(request.user, BotVersion, object_id, READ)
        others = list(version.bot.versions.exclude(pk=version.pk).only("id", "number"))
        compare_with = request.GET.get("with")
        other = next((v for v in others if str(v.number) == compare_with), None)
        if other is None:
            other = next((v for v in others if v.number < version.number), None)
        changes = diff_snapshots(other.snapshot, version.snapshot) if other else []
        extra_context = {**(extra_context or {}), "others": others, "other": other, "changes": changes}
        return super().change_view(request, object_id, form_url, extra_context)

    @action(description="Roll back to this version", url_path="rollback", icon="undo")
    def rollback_action(self, request, object_id):
        version = access.access_part(request.user, BotVersion, object_id, PUBLISH)
        if request.method == "POST":
            new, created = services.rollback_bot(bot=version.bot, version=version, user=request.user)
            if created:
                messages.success(request, f"Version {version.number} is live again, as version {new.number}.")
            else:
                messages.info(request, f"Version {new.number} already has these definitions: nothing changed.")
            return HttpResponseRedirect(reverse("admin:bots_bot_change", args=[version.bot_id]))
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        current = version.bot.versions.filter(is_current=True).first()
        return TemplateResponse(
            request,
            "admin/bots/rollback.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Roll back {version.bot.name} to version {version.number}",
                "version": version,
                "current": current,
                "changes": diff_snapshots(current.snapshot, version.snapshot) if current else [],
                "opts": self.model._meta,
            },
        )


# --- Connections, secrets, keys ---------------------------------------------------------------------------------


@admin.register(ChannelConnection)
class ChannelConnectionAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.ChannelConnectionForm
    workspace_path = "bot__workspace"
    list_display = ["__str__", "kind", "phone_number", "is_active", "has_credentials"]
    list_filter = [BotWorkspaceListFilter, "kind"]
    search_fields = ["bot__name", "phone_number"]
    autocomplete_fields = ["bot"]

    @display(description="Credentials", boolean=True)
    def has_credentials(self, obj):
        return bool(obj.credentials_encrypted)


@admin.register(Secret)
class SecretAdmin(WorkspaceScoped, ModelAdmin):
    form = admin_forms.SecretForm
    change_action = MANAGE
    list_display = ["name", "masked", "workspace", "updated_at"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name"]
    fields = ["workspace", "name", "value", "masked"]
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
