"""Bot test cases in the admin: listed per bot, workspace-scoped like every bot part, and run
against the draft from the change list (the same service the studio and `test_bot` use)."""

from __future__ import annotations

from django.contrib import admin, messages
from unfold.admin import ModelAdmin
from unfold.decorators import display

from bots import access
from bots.access import EDIT
from bots.admin import BotWorkspaceListFilter, WorkspaceScoped, builder_url
from studio.models import BotTestCase
from studio.services import run_test_cases


@admin.register(BotTestCase)
class BotTestCaseAdmin(WorkspaceScoped, ModelAdmin):
    workspace_path = "bot__workspace"
    list_display = ["name", "bot", "result", "last_run_at"]
    list_filter = [BotWorkspaceListFilter]
    search_fields = ["name", "bot__name"]
    autocomplete_fields = ["bot"]
    fields = ["bot", "name", "steps", "result", "last_failures", "last_run_at"]
    readonly_fields = ["result", "last_failures", "last_run_at"]
    actions = ["run_cases"]

    @display(description="Last result", label={"passed": "success", "failed": "danger", "never run": "info"})
    def result(self, obj):
        return {True: "passed", False: "failed"}.get(obj.last_passed, "never run")

    # Test cases call the bot's live tools: builders and owners only, and only in their workspaces.
    @admin.action(
        description="Run the test cases of the selected cases' bots against their drafts", permissions=["change"]
    )
    def run_cases(self, request, queryset):
        for bot in access.bots_for(request.user, EDIT).filter(pk__in=queryset.values("bot_id")):
            report = run_test_cases(bot=bot)
            level = messages.ERROR if report.failed else messages.SUCCESS
            messages.add_message(
                request,
                level,
                f"{bot.name}: {len(report.results) - report.failed} passed, {report.failed} failed. "
                f"Open the flow builder to see why: {builder_url(bot.pk)}",
            )
