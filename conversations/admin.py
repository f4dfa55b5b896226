"""Conversations in the admin: per bot, a searchable list, and each transcript with the trace of
every turn. Read-only (a transcript is a record), filtered to the person's workspaces."""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from unfold.admin import ModelAdmin

from bots import access
from bots.admin.scoping import WorkspaceListFilter, WorkspaceScoped
from conversations import selectors
from conversations.models import Conversation


@admin.register(Conversation)
class ConversationAdmin(WorkspaceScoped, ModelAdmin):
    list_display = ("id", "bot", "channel", "contact_id", "started_at", "status", "turn_count", "handoff")
    list_filter = (WorkspaceListFilter, ("bot", admin.RelatedOnlyFieldListFilter), "channel", "status")
    list_select_related = ("bot",)
    date_hierarchy = "started_at"
    search_fields = ("contact_id",)  # widened in get_search_results to summaries and message texts
    search_help_text = "Search contacts, summaries and message texts (stored redacted)."
    fields = ("bot", "channel", "contact_id", "status", "started_at", "ended_at", "turn_count", "summary", "transcript")
    readonly_fields = fields
    ordering = ("-started_at",)

    def _workspaces(self, request, action_name):
        # Agents work the inbox without reading bot definitions; they still read transcripts.
        if action_name == access.READ:
            readers = access.workspaces_for(request.user, access.READ)
            return (readers | access.workspaces_for(request.user, access.INBOX)).distinct()
        return super()._workspaces(request, action_name)

    def get_queryset(self, request):
        return selectors.conversations_in(self._workspaces(request, access.READ)).select_related("bot")

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_conversations(queryset, search_term), True

    @admin.display(boolean=True, description="Handoff", ordering="handed_off")
    def handoff(self, obj):
        return obj.handed_off

    @admin.display(description="Transcript and turn traces")
    def transcript(self, obj):
        return render_to_string("conversations/transcript.html", selectors.transcript_with_traces(obj))

    # A transcript is a record of what was said: nobody edits it here.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
