"""Analytics in the admin: the dashboard (roll-ups only) and its JSONL export, model prices,
latency objectives, alert rules and the alerts they raised (open ones first)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.decorators import display

from analytics import export, selectors
from analytics.models import Alert, AlertRule, BotSlo, Dashboard, ModelPrice
from bots import access
from bots.access import MANAGE, READ
from bots.admin import WorkspaceListFilter, WorkspaceScoped
from integrations.models import WebhookEndpoint

SLO_COMPONENT = {"first_token": "chat_first_token_ms", "first_audio": "voice_turn_ms"}
# Line charts with a legend, visible points (a period may hold a single day) and a y axis from 0.
LINE_OPTIONS = json.dumps(
    {
        "animation": False,
        "responsive": True,
        "maintainAspectRatio": False,
        "plugins": {"legend": {"display": True, "align": "end", "labels": {"usePointStyle": True, "boxWidth": 6}}},
        "elements": {"point": {"radius": 3}},
        "scales": {"y": {"beginAtZero": True}},
    }
)


@admin.register(Dashboard)
class DashboardAdmin(WorkspaceScoped, ModelAdmin):
    """One page, no list: a workspace's or a bot's figures per channel over a period."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        export_view = self.admin_site.admin_view(self.export_view)
        return [path("export/", export_view, name="analytics_dashboard_export"), *super().get_urls()]

    def _choice(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        workspaces = list(access.workspaces_for(request.user, READ).order_by("name"))
        workspace = next((w for w in workspaces if str(w.pk) == request.GET.get("workspace")), None)
        workspace = workspace or (workspaces[0] if workspaces else None)
        bots = list(workspace.bots.order_by("name")) if workspace else []
        bot = next((b for b in bots if str(b.pk) == request.GET.get("bot")), None)
        channel = request.GET.get("channel", "")
        days = int(request.GET["days"]) if request.GET.get("days") in {str(d) for d in selectors.PERIODS} else 7
        return workspaces, workspace, bots, bot, channel, days

    def changelist_view(self, request, extra_context=None):
        workspaces, workspace, bots, bot, channel, days = self._choice(request)
        data = charts = None
        slo = selectors.objectives(bot.pk if bot else None)
        if workspace is not None:
            data = selectors.dashboard(
                workspace_id=workspace.pk, bot_id=bot.pk if bot else None, channel=channel, days=days
            )
            charts = _charts(data, slo)
        return TemplateResponse(
            request,
            "analytics/admin/dashboard.html",
            {
                **self.admin_site.each_context(request),
                "title": "Analytics",
                "opts": self.model._meta,
                "workspaces": workspaces,
                "workspace": workspace,
                "bots": bots,
                "bot": bot,
                "channels": selectors.channels(workspace.pk) if workspace else [],
                "channel": channel,
                "days": days,
                "periods": selectors.PERIODS,
                "data": data,
                "charts": charts,
                "slo": slo,
                "query": request.GET.urlencode(),
            },
        )

    def export_view(self, request):
        """The chosen conversations as redacted JSON Lines."""
        _, workspace, _, bot, channel, days = self._choice(request)
        if workspace is None:
            raise PermissionDenied
        first = timezone.now().date() - timedelta(days=days - 1)
        lines = export.conversations_jsonl(
            workspace_id=workspace.pk,
            bot_id=bot.pk if bot else None,
            channel=channel,
            since=datetime.combine(first, time.min, tzinfo=UTC),
            until=timezone.now(),
        )
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        name = f"conversations-{workspace.slug}{'-' + bot.slug if bot else ''}-{first.isoformat()}.jsonl"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _charts(data: dict, slo) -> dict:
    s = data["series"]
    labels = s["labels"]
    charts = {
        "conversations": {"labels": labels, "datasets": [{"label": "Conversations", "data": s["conversations"]}]},
        "rates": {
            "labels": labels,
            "datasets": [
                {"label": "Containment %", "data": s["containment"]},
                {"label": "Handoff rate %", "data": s["handoff_rate"]},
                {"label": "CSAT %", "data": s["csat"]},
            ],
        },
        "latency": [],
    }
    for component, series in data["latency"].items():
        datasets = [{"label": "p50 (ms)", "data": series["p50"]}, {"label": "p95 (ms)", "data": series["p95"]}]
        objective = getattr(slo, SLO_COMPONENT[component]) if component in SLO_COMPONENT else None
        if objective:
            datasets.append(
                {"label": f"Objective ({objective} ms)", "data": [objective] * len(labels), "borderDash": [6, 4]}
            )
        charts["latency"].append(
            {"id": component, "title": series["label"], "chart": json.dumps({"labels": labels, "datasets": datasets})}
        )
    charts["conversations"] = json.dumps(charts["conversations"])
    charts["rates"] = json.dumps(charts["rates"])
    charts["line_options"] = LINE_OPTIONS
    return charts


@admin.register(ModelPrice)
class ModelPriceAdmin(WorkspaceScoped, ModelAdmin):
    change_action = MANAGE
    list_display = ["model", "workspace", "input_per_million", "output_per_million"]
    list_filter = [WorkspaceListFilter]
    list_editable = ["input_per_million", "output_per_million"]
    search_fields = ["model"]

    def get_queryset(self, request):  # owners set prices; everyone who reads figures sees them
        return ModelPrice.objects.filter(workspace__in=access.workspaces_for(request.user, READ))


@admin.register(BotSlo)
class BotSloAdmin(WorkspaceScoped, ModelAdmin):
    workspace_path = "bot__workspace"
    list_display = ["bot", "chat_first_token_ms", "voice_turn_ms"]


@admin.register(AlertRule)
class AlertRuleAdmin(WorkspaceScoped, ModelAdmin):
    workspace_path = "bot__workspace"
    list_display = ["__str__", "window_minutes", "cooldown_minutes", "is_active", "open_alert"]
    list_filter = ["metric", "is_active"]

    @display(description="Open alert", boolean=True)
    def open_alert(self, obj):
        return obj.alerts.filter(resolved_at=None).exists()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is WebhookEndpoint:
            kwargs["queryset"] = WebhookEndpoint.objects.filter(
                workspace__in=self._workspaces(request, self.change_action)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at=None)
        if self.value() == "resolved":
            return queryset.exclude(resolved_at=None)
        return queryset


@admin.register(Alert)
class AlertAdmin(WorkspaceScoped, ModelAdmin):
    """Raised by the rules, never typed in: read-only, open ones first."""

    workspace_path = "rule__bot__workspace"
    list_display = ["rule", "state", "value", "last_value", "opened_at", "resolved_at"]
    list_filter = [OpenFilter]
    readonly_fields = ["rule", "value", "last_value", "opened_at", "resolved_at"]

    def get_ordering(self, request):
        return ["-resolved_at", "-opened_at"]  # NULLs first in descending order: open alerts lead

    @display(description="State", label={"open": "danger", "resolved": "success"})
    def state(self, obj):
        return "open" if obj.resolved_at is None else "resolved"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
