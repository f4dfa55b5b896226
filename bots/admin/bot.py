"""The bot page, with its parts inline, and flows edited as JSON with validation."""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from pydantic import ValidationError as SchemaError
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.decorators import action, display

from bots import access, selectors, services, starters
from bots.access import EDIT, PUBLISH, READ
from bots.admin import forms as admin_forms
from bots.admin.scoping import BotWorkspaceListFilter, ScopedInline, WorkspaceListFilter, WorkspaceScoped, builder_url
from bots.admin.settings_forms import GROUPS, BotSettingsForm, field_name
from bots.admin.tool_form import ToolSettingsForm
from bots.diff import diff_snapshots
from bots.models import Bot, EscalationRule, Flow, Intent, Prompt, Tool
from bots.schema import VoiceSettings
from bots.tool_check import check_tool, typed_arguments
from channels_app.widget_strings import LANGUAGES, widget_strings
from studio.services import run_test_cases
from voice.sample import NoVoiceService, sample_wav
from voice.tts import TtsFailed


class PromptInline(ScopedInline, StackedInline):
    model = Prompt
    form = admin_forms.PromptForm
    extra = 0
    tab = True


class ToolInline(ScopedInline, StackedInline):
    model = Tool
    form = ToolSettingsForm
    extra = 0
    tab = True
    readonly_fields = ["test_tool"]
    fieldsets = [
        (None, {"fields": ["name", "description", "method", "url", "auth", "auth_secret", "header_rows"]}),
        (None, {"fields": ["parameter_rows", "body_rows", "response_field", "max_chars", "timeout_s", "test_tool"]}),
        (
            "Advanced: the same as JSON",
            {"fields": ["headers", "parameters", "body", "secrets"], "classes": ["collapse"]},
        ),
    ]

    @display(description="Try it")
    def test_tool(self, obj):
        if not obj or not obj.pk:
            return "Save the tool first, then test it here."
        parameters = list(((obj.parameters or {}).get("properties") or {}).keys())
        url = reverse("admin:bots_bot_tool_test", args=[obj.pk])
        return render_to_string("admin/bots/bot/tool_test.html", {"url": url, "parameters": parameters})


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


def _settings_fields(group: str) -> list[str]:
    return [field_name(group, key) for g, _, fields in GROUPS if g == group for key in fields]


@admin.register(Bot)
class BotAdmin(WorkspaceScoped, ModelAdmin):
    form = BotSettingsForm
    list_display = ["name", "workspace", "language", "published", "updated_at"]
    ordering = ["name"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name", "slug"]
    readonly_fields = ["public_key", "widget_preview", "voice_sample"]
    fieldsets = [
        (None, {"fields": ["workspace", "name", "slug", "language", "greeting", "public_key"]}),
        ("Chat widget", {"fields": [*_settings_fields("widget"), "widget_preview"], "classes": ["tab"]}),
        (
            "Phone calls",
            {"fields": ["voice_tts_voice", "voice_sample", *_settings_fields("voice")[1:]], "classes": ["tab"]},
        ),
        (
            "Advanced",
            {
                "fields": ["session_ttl_s", "history_turns", "nlu", "nlu_threshold", "widget", "voice"],
                "classes": ["tab"],
            },
        ),
    ]
    inlines = [FlowInline, PromptInline, ToolInline, IntentInline, EscalationRuleInline]
    change_form_after_template = "admin/bots/bot/after_form.html"
    actions_detail = ["publish_action", "versions_action"]
    actions_list = ["from_template_action"]

    @action(description="New bot from template", url_path="from-template", icon="auto_awesome")
    def from_template_action(self, request):
        workspaces = list(access.workspaces_for(request.user, EDIT))
        if not workspaces:
            return HttpResponseRedirect(reverse("admin:bots_bot_changelist"))
        chosen, name = request.POST.get("template", ""), request.POST.get("name", "").strip()
        errors = []
        if request.method == "POST":
            workspace = next((w for w in workspaces if str(w.pk) == request.POST.get("workspace")), None)
            if chosen not in starters.BY_KEY:
                errors.append("Choose a template.")
            if not name:
                errors.append("Give your bot a name.")
            if workspace is None:
                errors.append("Choose one of your workspaces.")
            if not errors:
                bot = starters.create_bot_from_starter(workspace=workspace, key=chosen, name=name)
                messages.success(request, f"“{bot.name}” is ready as a draft: adjust it, then publish.")
                return HttpResponseRedirect(reverse("admin:bots_bot_change", args=[bot.pk]))
        return TemplateResponse(
            request,
            "admin/bots/bot/from_template.html",
            {
                **self.admin_site.each_context(request),
                "title": "New bot from a template",
                "starters": starters.STARTERS,
                "chosen": chosen,
                "name": name,
                "errors": errors,
                "workspaces": workspaces,
                "opts": self.model._meta,
            },
        )

    @display(description="Preview")
    def widget_preview(self, obj):
        strings = {code: widget_strings(code) for code, _ in LANGUAGES}
        return render_to_string("admin/bots/bot/widget_preview.html", {"strings_json": json.dumps(strings)})

    @display(description="Hear it")
    def voice_sample(self, obj):
        return render_to_string("admin/bots/bot/voice_sample.html", {"url": reverse("admin:bots_bot_voice_sample")})

    def get_urls(self):
        sample = self.admin_site.admin_view(self.voice_sample_view)
        tool_test = self.admin_site.admin_view(require_POST(self.tool_test_view))
        return [
            path("voice-sample/", sample, name="bots_bot_voice_sample"),
            path("tool-test/<int:tool_id>/", tool_test, name="bots_bot_tool_test"),
            *super().get_urls(),
        ]

    def tool_test_view(self, request, tool_id):
        """Call a saved tool with the arguments typed: the service's answer and what the bot gets."""
        tool = access.access_part(request.user, Tool, tool_id, EDIT)
        try:
            raw = json.loads(request.body or b"{}")
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            return JsonResponse({"error": "Send the arguments as a JSON object."}, status=400)
        result = check_tool(tool, typed_arguments(tool, {k: str(v) for k, v in raw.items()}))
        return JsonResponse({"ok": result.ok, "bot_gets": result.bot_gets, "response": result.response})

    def voice_sample_view(self, request):
        """A few seconds of the chosen voice at the chosen speed, as a WAV file."""
        if not access.bots_for(request.user, EDIT).exists():
            return JsonResponse({"error": "Only builders can play voice samples."}, status=403)
        try:
            voice = VoiceSettings(tts_voice=request.GET.get("voice", ""), speaking_rate=request.GET.get("rate", 1))
        except SchemaError:
            return JsonResponse({"error": "Choose a voice and a speed between 0.7 and 1.2."}, status=400)
        try:
            audio = async_to_sync(sample_wav)(voice)
        except NoVoiceService as exc:
            return JsonResponse({"error": str(exc)}, status=409)
        except TtsFailed:
            return JsonResponse(
                {"error": "The voice service did not answer. Try again, or choose another voice."}, status=502
            )
        return HttpResponse(audio, content_type="audio/wav")

    @display(description="Published")
    def published(self, obj):
        number = obj.versions.filter(is_current=True).values_list("number", flat=True).first()
        return f"version {number}" if number else "not yet"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        bot = access.access_bot(request.user, object_id, READ)
        extra_context = {
            **(extra_context or {}),
            "problems": selectors.draft_problems(bot),
            "versions": selectors.versions_of(bot)[:10],
            "builder_url": builder_url(bot.pk),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        problems = selectors.draft_problems(form.instance)
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
        problems = selectors.draft_problems(bot, snapshot)
        test_report = None
        if request.method == "POST" and "run_tests" in request.POST:
            # Test cases call the bot's live tools: only on a deliberate POST (with CSRF), never on
            # a page view that a link or an image tag could trigger.
            test_report = run_test_cases(bot=bot).as_dict() if not problems else None
        elif request.method == "POST":
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
                "test_report": test_report,
                "has_test_cases": bot.test_cases.exists(),
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
