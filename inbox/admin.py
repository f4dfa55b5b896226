"""The inbox's settings in the admin, for team leads who do not write code: queues (hours,
timeout, what customers are told), agents' chat limits, canned replies, callback requests.
Filtered to the person's workspaces like the rest of the admin (`bots.admin.scoping`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from bots import access
from bots.access import INBOX, READ
from bots.admin.scoping import WorkspaceListFilter, WorkspaceScoped
from inbox.models import WEEKDAYS, AgentStatus, CannedReply, Queue, Ticket


class QueueForm(forms.ModelForm):
    open_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        label="Open days",
        help_text="The days someone answers. Untick every day to send every chat to the fallback.",
    )

    class Meta:
        model = Queue
        fields = [
            "workspace",
            "name",
            "assignment",
            "open_days",
            "opens_at",
            "closes_at",
            "timezone",
            "claim_timeout_s",
            "fallback",
            "closed_message",
            "busy_message",
            "callback_prompt",
            "callback_thanks",
            "back_to_bot_message",
        ]


@admin.register(Queue)
class QueueAdmin(WorkspaceScoped, ModelAdmin):
    form = QueueForm
    list_display = ["name", "workspace", "assignment", "hours", "claim_timeout_s", "fallback"]
    list_filter = [WorkspaceListFilter, "assignment", "fallback"]
    fieldsets = [
        (None, {"fields": ["workspace", "name", "assignment"]}),
        ("Business hours", {"fields": ["open_days", "opens_at", "closes_at", "timezone"]}),
        (
            "When nobody can answer",
            {
                "fields": [
                    "claim_timeout_s",
                    "fallback",
                    "closed_message",
                    "busy_message",
                    "callback_prompt",
                    "callback_thanks",
                    "back_to_bot_message",
                ]
            },
        ),
    ]

    @admin.display(description="Hours")
    def hours(self, obj):
        days = ", ".join(name[:3] for number, name in WEEKDAYS if number in (obj.open_days or [])) or "closed"
        if obj.opens_at and obj.closes_at:
            return f"{days} {obj.opens_at:%H:%M}–{obj.closes_at:%H:%M} ({obj.timezone})"
        return f"{days}, all day"


@admin.register(AgentStatus)
class AgentStatusAdmin(WorkspaceScoped, ModelAdmin):
    list_display = ["user", "workspace", "presence", "max_chats", "last_assigned_at"]
    list_filter = [WorkspaceListFilter, "presence"]
    fields = ["user", "workspace", "presence", "max_chats"]


@admin.register(CannedReply)
class CannedReplyAdmin(WorkspaceScoped, ModelAdmin):
    list_display = ["shortcut", "workspace", "text"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["shortcut", "text"]


@admin.register(Ticket)
class TicketAdmin(WorkspaceScoped, ModelAdmin):
    """Callback requests. The contact is shown partly hidden here; agents see it in full in the inbox."""

    list_display = ["contact_masked", "kind", "queue", "workspace", "status", "created_at"]
    list_filter = [WorkspaceListFilter, "status", "kind", "queue"]
    fields = ["workspace", "queue", "kind", "contact_masked", "status", "created_at"]
    readonly_fields = ["workspace", "queue", "kind", "contact_masked", "created_at"]

    change_action = INBOX  # agents work callbacks: they tick them done without editing bots

    def _workspaces(self, request, action_name):
        if action_name == READ:
            return (access.workspaces_for(request.user, READ) | access.workspaces_for(request.user, INBOX)).distinct()
        return super()._workspaces(request, action_name)

    def has_add_permission(self, request, obj=None):
        return False  # created when a customer leaves a way to reach them
