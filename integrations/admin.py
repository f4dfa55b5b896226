"""Integrations in the admin: webhooks and their delivery log, the Zendesk connection, and the
handoff metrics page. Webhooks and Zendesk hold credentials, so only workspace owners see them."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from bots import access
from bots.access import MANAGE, READ
from bots.admin import WorkspaceListFilter, WorkspaceScoped
from integrations import forms, metrics, services
from integrations.models import (
    DeliveryStatus,
    HandoffMetrics,
    WebhookDelivery,
    WebhookEndpoint,
    ZendeskConnection,
    ZendeskTicket,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(WorkspaceScoped, ModelAdmin):
    form = forms.WebhookEndpointForm
    change_action = MANAGE
    list_display = ["name", "url", "event_list", "is_active", "secret_masked"]
    list_filter = [WorkspaceListFilter]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_masked"]
    actions_detail = ["send_test"]

    @display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        secret = services.webhook_endpoint_create(obj)
        messages.success(
            request,
            f"Copy the signing secret now, it will not be shown again: {secret} — "
            "your receiver checks X-Switchboard-Signature with it.",
        )

    @action(description="Send a test event", url_path="send-test", icon="send")
    def send_test(self, request, object_id):
        endpoint = self.get_queryset(request).filter(pk=object_id).first()
        if endpoint is None or not self.has_change_permission(request, endpoint):
            return HttpResponseRedirect(reverse("admin:integrations_webhookendpoint_changelist"))
        if request.method == "POST":
            services.webhook_send_test(endpoint)
            messages.success(request, "A test event is on its way; its delivery shows in the log below.")
            log = reverse("admin:integrations_webhookdelivery_changelist")
            return HttpResponseRedirect(f"{log}?endpoint__id__exact={endpoint.pk}")
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        return TemplateResponse(
            request,
            "integrations/admin/send_test.html",
            {**self.admin_site.each_context(request), "title": "Send a test event", "endpoint": endpoint},
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WorkspaceScoped, ModelAdmin):
    workspace_path = "endpoint__workspace"
    change_action = MANAGE
    list_display = ["event", "endpoint", "status_badge", "attempts", "response_code", "created_at", "error"]
    list_filter = ["status", "event", "endpoint"]
    fields = [
        "endpoint",
        "event",
        "delivery_id",
        "status",
        "attempts",
        "response_code",
        "error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
        "payload_json",
    ]
    readonly_fields = fields
    actions = ["resend"]

    @display(
        description="Status",
        label={
            DeliveryStatus.DELIVERED.label: "success",
            DeliveryStatus.FAILED.label: "danger",
            DeliveryStatus.RETRYING.label: "warning",
        },
    )
    def status_badge(self, obj):
        return obj.get_status_display()

    @display(description="Payload (redacted)")
    def payload_json(self, obj):
        return json.dumps(obj.payload, indent=2, ensure_ascii=False)

    def has_add_permission(self, request, obj=None):
        return False  # deliveries come from events, a resend or the test button

    @admin.action(description="Resend the selected deliveries")
    def resend(self, request, queryset):
        sent = [services.webhook_resend(d) for d in queryset.select_related("endpoint")]
        messages.success(request, f"Queued {len(sent)} new deliveries.")


@admin.register(ZendeskConnection)
class ZendeskConnectionAdmin(WorkspaceScoped, ModelAdmin):
    form = forms.ZendeskConnectionForm
    change_action = MANAGE
    list_display = ["__str__", "workspace", "email", "token_masked", "is_active"]
    list_filter = [WorkspaceListFilter]
    readonly_fields = ["token_masked"]


@admin.register(ZendeskTicket)
class ZendeskTicketAdmin(WorkspaceScoped, ModelAdmin):
    workspace_path = "connection__workspace"
    change_action = MANAGE
    list_display = ["ticket_id", "handoff", "last_event", "error", "updated_at"]
    readonly_fields = ["connection", "handoff", "ticket_id", "last_event", "error", "updated_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(HandoffMetrics)
class HandoffMetricsAdmin(WorkspaceScoped, ModelAdmin):
    """One page, no list: handoff rate and reply / resolution times of a workspace over a period."""

    workspace_path = "conversation__workspace"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        workspaces = list(access.workspaces_for(request.user, READ).order_by("name"))
        chosen = next((w for w in workspaces if str(w.pk) == request.GET.get("workspace")), None)
        workspace = chosen or (workspaces[0] if workspaces else None)
        days = int(request.GET["days"]) if request.GET.get("days") in {str(d) for d in metrics.PERIODS} else 7
        figures = metrics.handoff_metrics(workspace.pk, days) if workspace else None
        chart = None
        if figures and figures["by_queue"]:
            rows = figures["by_queue"]
            chart = json.dumps(
                {
                    "labels": [r["queue"] for r in rows],
                    "datasets": [
                        {"label": "First reply p50 (s)", "data": [r["reply_after_handoff_p50"] for r in rows]},
                        {"label": "First reply p95 (s)", "data": [r["reply_after_handoff_p95"] for r in rows]},
                    ],
                }
            )
        return TemplateResponse(
            request,
            "integrations/admin/handoff_metrics.html",
            {
                **self.admin_site.each_context(request),
                "title": "Handoff metrics",
                "opts": self.model._meta,
                "workspaces": workspaces,
                "workspace": workspace,
                "days": days,
                "periods": metrics.PERIODS,
                "figures": figures,
                "chart": chart,
            },
        )
