"""Conversations in the admin: per bot, a searchable list, and each transcript with the trace of
every turn. Read-only (a transcript is a record), and filtered to the user's workspaces."""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from unfold.admin import ModelAdmin

from bots.access import INBOX, READ, workspaces_for
from conversations import selectors
from conversations.models import Conversation


def _workspace_ids(user) -> set[int]:
    # Builders and viewers read bots; agents work the inbox: all of them may read transcripts.
    return set(workspaces_for(user, READ).values_list("id", flat=True)) | set(
        workspaces_for(user, INBOX).values_list("id", flat=True)
    )


@admin.register(Conversation)
class ConversationAdmin(ModelAdmin):
    list_display = ("id", "bot", "channel", "contact_id", "started_at", "status", "turn_count", "handoff")
    list_filter = (("bot", admin.RelatedOnlyFieldListFilter), "channel", "status")
    list_select_related = ("bot",)
    date_hierarchy = "started_at"
    search_fields = ("contact_id",)  # widened in get_search_results to message texts
    search_help_text = "Search contacts, summaries and message texts (stored redacted)."
    fields = ("bot", "channel", "contact_id", "status", "started_at", "ended_at", "turn_count", "summary", "transcript")
    readonly_fields = fields
    ordering = ("-started_at",)

    def get_queryset(self, request):
        return selectors.conversations_in(_workspace_ids(request.user))

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_conversations(queryset, search_term), True

    @admin.display(boolean=True, description="Handoff", ordering="handed_off")
    def handoff(self, obj):
        return obj.handed_off

    @admin.display(description="Transcript and turn traces")
    def transcript(self, obj):
        return render_to_string("conversations/transcript.html", selectors.transcript_with_traces(obj))

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
