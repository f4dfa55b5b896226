"""Published versions: read-only, compared with any other version, rolled back to."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.decorators import action

from bots import access, services
from bots.access import PUBLISH, READ
from bots.admin.scoping import BotWorkspaceListFilter, WorkspaceScoped
from bots.diff import diff_snapshots
from bots.models import BotVersion


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
