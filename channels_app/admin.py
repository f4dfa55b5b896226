"""Channel connections in the admin: credentials write-only, and for messaging channels everything
a builder needs to connect alone — the webhook addresses to paste, the generated verify token, the
last event received, the last delivery error, and a test message."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import UnfoldAdminTextareaWidget

from bots.admin.forms import PrettyJSONField
from bots.admin.scoping import BotWorkspaceListFilter, WorkspaceScoped
from bots.models import ChannelConnection
from channels_app.messaging import connections
from channels_app.messaging.base import SendError
from voice import numbers


class CredentialsField(PrettyJSONField):
    """Write-only: the form never shows stored credentials, so an empty box means "keep them"."""

    widget = UnfoldAdminTextareaWidget(attrs={"rows": 4, "style": "font-family: monospace"})

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class ChannelConnectionForm(forms.ModelForm):
    new_credentials = CredentialsField(
        required=False,
        label="Credentials",
        help_text='Paste the channel\'s tokens as JSON. WhatsApp: {"access_token": "…", "app_secret": "…"}; '
        'Slack: {"bot_token": "xoxb-…", "signing_secret": "…"}; SMS: {"account_sid": "AC…", "auth_token": "…"}. '
        "They are stored encrypted and never shown again. Leave empty to keep the current ones.",
    )

    class Meta:
        model = ChannelConnection
        fields = ["bot", "kind", "settings", "phone_number", "is_active"]
        help_texts = {
            "settings": 'WhatsApp: {"phone_number_id": "…"} from Meta\'s app dashboard; '
            'Slack: {"team_id": "T…"}. The verify token is generated for you.',
        }

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the submitted fields
        if self.errors:
            return
        if self.cleaned_data.get("new_credentials"):
            self.instance.credentials = self.cleaned_data["new_credentials"]
        for problem in connections.configure(self.instance):
            self.add_error(None, problem)


@admin.register(ChannelConnection)
class ChannelConnectionAdmin(WorkspaceScoped, ModelAdmin):
    form = ChannelConnectionForm
    workspace_path = "bot__workspace"
    list_display = ["__str__", "kind", "phone_number", "is_active", "has_credentials", "last_event"]
    list_filter = [BotWorkspaceListFilter, "kind"]
    search_fields = ["bot__name", "phone_number", "external_id"]
    autocomplete_fields = ["bot"]
    readonly_fields = ["connect"]

    def get_fields(self, request, obj=None):
        fields = ["bot", "kind", "settings", "new_credentials", "phone_number", "is_active"]
        if obj is None or not self.has_change_permission(request, obj):
            return fields  # addresses, tokens and the identity secret are for those who may change the channel
        return ["connect", *fields]  # what a builder comes back for, first

    @display(description="Credentials", boolean=True)
    def has_credentials(self, obj):
        return bool(obj.credentials_encrypted)

    @display(description="Last event received")
    def last_event(self, obj):
        event = obj.inbound_events.order_by("-received_at").first()
        return event.received_at if event else "—"

    @display(description="Connect")
    def connect(self, obj):
        if obj.kind == ChannelConnection.Kind.WEB:
            return render_to_string("channels_app/web_connect.html", connections.web_setup(obj))
        if obj.kind == ChannelConnection.Kind.PHONE:
            context = {"channel": obj, "urls": numbers.webhook_urls(), "can_set": numbers.can_set_webhooks()}
            context["check_url"] = reverse("admin:channels_connection_phone_check", args=[obj.pk])
            return render_to_string("voice/phone_connect.html", context)
        status = connections.status(obj)
        if status is None:
            return "Nothing to paste for this kind of channel."
        test_url = reverse("admin:channels_connection_test", args=[obj.pk])
        return render_to_string("channels_app/connect.html", {"status": status, "test_url": test_url, "channel": obj})

    def get_urls(self):
        test = self.admin_site.admin_view(require_POST(self.test_message_view))
        check = self.admin_site.admin_view(require_POST(self.phone_check_view))
        return [
            path("<int:object_id>/test/", test, name="channels_connection_test"),
            path("<int:object_id>/phone-check/", check, name="channels_connection_phone_check"),
            *super().get_urls(),
        ]

    def phone_check_view(self, request, object_id):
        channel = self.get_object(request, object_id)
        if channel is None or not self.has_change_permission(request, channel):
            return redirect("admin:bots_channelconnection_changelist")
        try:
            async_to_sync(numbers.set_webhooks)(channel.phone_number)
        except numbers.NumberProblem as exc:
            messages.error(request, f"The number is not set up yet: {exc}")
        else:
            messages.success(request, f"Done: Twilio now sends calls to {channel.phone_number} to {channel.bot}.")
        return redirect("admin:bots_channelconnection_change", channel.pk)

    def test_message_view(self, request, object_id):
        channel = self.get_object(request, object_id)
        if channel is None or not self.has_change_permission(request, channel):
            return redirect("admin:bots_channelconnection_changelist")
        recipient = request.POST.get("recipient", "").strip()
        if not recipient:
            messages.error(request, "Enter who receives the test message: a phone number, or a Slack channel id.")
        else:
            try:
                async_to_sync(connections.send_test)(channel, recipient)
            except SendError as exc:
                messages.error(request, f"The test message was not sent: {exc}")
            else:
                messages.success(request, f"Test message sent to {recipient}.")
        return redirect("admin:bots_channelconnection_change", channel.pk)
