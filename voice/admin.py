"""Calls in the admin: each call with its per-turn latency, and p50/p95 per bot above the list.
Read-only, filtered to the user's workspaces."""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from unfold.admin import ModelAdmin, TabularInline

from bots.access import READ, workspaces_for
from voice import selectors
from voice.models import Call, CallTurn


def _workspace_ids(user) -> list[int]:
    return list(workspaces_for(user, READ).values_list("id", flat=True))


class CallTurnInline(TabularInline):
    model = CallTurn
    fields = (
        "index",
        "input_kind",
        "stt_ms",
        "llm_first_token_ms",
        "tts_first_byte_ms",
        "first_audio_ms",
        "platform_ms",
        "interrupted",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ModelAdmin):
    list_display = ("call_sid", "bot", "caller", "started_at", "outcome", "duration_s", "transferred_to")
    list_filter = (("bot", admin.RelatedOnlyFieldListFilter), "outcome")
    date_hierarchy = "started_at"
    fields = (
        "bot",
        "conversation",
        "call_sid",
        "caller",
        "dialled",
        "twilio_status",
        "outcome",
        "transferred_to",
        "whisper",
        "started_at",
        "ended_at",
        "duration_s",
        "latency",
    )
    readonly_fields = fields
    inlines = [CallTurnInline]
    change_list_template = "voice/call_change_list.html"

    def get_queryset(self, request):
        return selectors.calls_in(_workspace_ids(request.user))

    def changelist_view(self, request, extra_context=None):
        extra = {"latency_by_bot": selectors.latency_by_bot(_workspace_ids(request.user)), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    @admin.display(description="Latency (ms): end of speech → first audio, and our own share")
    def latency(self, obj):
        return render_to_string("voice/call_latency.html", {"rows": [selectors.latency_of_call(obj)]})

    def has_module_permission(self, request):
        return request.user.is_active and bool(_workspace_ids(request.user))

    def has_view_permission(self, request, obj=None):
        ids = _workspace_ids(request.user)
        return bool(ids) if obj is None else obj.workspace_id in ids

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
