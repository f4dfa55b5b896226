"""Admin forms: events as check boxes, write-only credentials, URLs checked by the SSRF guard."""

from __future__ import annotations

from django import forms

from dialogue import netguard
from integrations import webhooks
from integrations.events import EVENTS
from integrations.models import ZENDESK_EVENTS, WebhookEndpoint, ZendeskConnection


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple, help_text="The events sent here."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["workspace", "name", "url", "events", "is_active"]

    def clean(self):
        data = super().clean()
        workspace, url = data.get("workspace"), data.get("url")
        if workspace and url:
            try:
                webhooks.check_url(url, workspace)
            except netguard.BlockedAddress as exc:
                self.add_error("url", str(exc))
        return data


class ZendeskConnectionForm(forms.ModelForm):
    token = forms.CharField(
        label="API token",
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Admin Center → Apps and integrations → Zendesk API. Stored encrypted and never shown again; "
        "when editing, leave empty to keep the current token.",
    )
    events = forms.MultipleChoiceField(
        choices=ZENDESK_EVENTS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ZendeskConnection.events.field.help_text,
    )

    class Meta:
        model = ZendeskConnection
        fields = ["workspace", "subdomain", "email", "token", "events", "is_active"]

    def clean(self):
        data = super().clean()
        if not self.instance.token_encrypted and not data.get("token"):
            self.add_error("token", "Enter the API token.")
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("token"):
            self.instance.set_token(self.cleaned_data["token"])
        return super().save(commit)
