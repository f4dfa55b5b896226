"""Admin form fields for people who do not write code: lists one item per line, readable JSON,
write-only secrets, and flow validation shown on the field it is about."""

from __future__ import annotations

import json

from django import forms
from pydantic import ValidationError as SchemaError
from unfold.widgets import UnfoldAdminTextareaWidget

from bots import selectors
from bots.models import (
    API_SCOPES,
    ApiKey,
    Bot,
    EscalationRule,
    Flow,
    Intent,
    Prompt,
    Secret,
    Tool,
    Workspace,
)
from bots.schema import FlowGraph, FlowSpec
from dialogue import netguard


class LinesField(forms.CharField):
    """A list of short texts, typed one per line."""

    widget = UnfoldAdminTextareaWidget(attrs={"rows": 4})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class PrettyJSONField(forms.JSONField):
    widget = UnfoldAdminTextareaWidget(attrs={"rows": 16, "style": "font-family: monospace"})

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


def _lines(label, help_text):
    return LinesField(label=label, help_text=help_text)


def _clean_hosts(hosts: list[str]) -> list[str]:
    problems = [p for p in map(netguard.host_pattern_problem, hosts) if p]
    if problems:
        raise forms.ValidationError(problems)
    return [h.strip().lower().rstrip(".") for h in hosts]


class WorkspaceForm(forms.ModelForm):
    tool_allowed_hosts = _lines("Hosts bots may call", Workspace.tool_allowed_hosts.field.help_text)
    allow_private_networks = forms.BooleanField(
        required=False,
        label="Allow private networks (risky)",
        help_text="Warning: with this on, anyone who can edit a bot can make it call services inside your "
        "network (localhost, 10.x, 192.168.x). Turn it on only for an internal service you own, and list "
        "that service's host above. Cloud metadata addresses stay refused.",
    )

    class Meta:
        model = Workspace
        fields = ["name", "slug", "tool_allowed_hosts", "allow_private_networks"]

    def clean_tool_allowed_hosts(self):
        return _clean_hosts(self.cleaned_data["tool_allowed_hosts"])


class BotForm(forms.ModelForm):
    widget = PrettyJSONField(required=False, help_text=Bot.widget.field.help_text)
    voice = PrettyJSONField(required=False, help_text=Bot.voice.field.help_text)

    class Meta:
        model = Bot
        fields = [
            "workspace",
            "name",
            "slug",
            "language",
            "greeting",
            "widget",
            "voice",
            "session_ttl_s",
            "history_turns",
            "nlu",
            "nlu_threshold",
        ]


class PromptForm(forms.ModelForm):
    fallback_models = _lines("Fallback models", "Models to try, one per line, if the first one is down.")

    class Meta:
        model = Prompt
        fields = ["name", "system", "mode", "model", "fallback_models", "temperature", "max_tokens"]


class ToolForm(forms.ModelForm):
    headers = PrettyJSONField(required=False, help_text=Tool.headers.field.help_text)
    parameters = PrettyJSONField(required=False, help_text=Tool.parameters.field.help_text)
    secrets = _lines("Secrets it may use", "Names of workspace secrets, one per line.")

    class Meta:
        model = Tool
        fields = [
            "name",
            "description",
            "method",
            "url",
            "headers",
            "body",
            "parameters",
            "secrets",
            "timeout_s",
            "response_field",
            "max_chars",
        ]


class IntentForm(forms.ModelForm):
    examples = _lines(
        "Example messages", "Things a user might say when they want this, one per line. Five or more help."
    )

    class Meta:
        model = Intent
        fields = ["name", "examples", "always_handoff"]


class EscalationRuleForm(forms.ModelForm):
    intents = _lines("Intents", "For the intent trigger: intent names, one per line.")
    keywords = _lines("Keywords", "For the keyword trigger: words or phrases, one per line.")

    class Meta:
        model = EscalationRule
        fields = ["name", "trigger", "threshold", "intents", "keywords", "action", "queue", "transfer_to", "message"]


class FlowForm(forms.ModelForm):
    """Edits a flow as JSON and refuses to save it with problems, shown on the steps field."""

    trigger_intents = _lines("Start on intents", "Start this flow when the user wants one of these, one per line.")
    trigger_keywords = _lines(
        "Start on keywords", "Start this flow when a message contains one of these, one per line."
    )
    graph = PrettyJSONField(label="Steps", help_text=Flow.graph.field.help_text)
    revision_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Flow
        fields = ["bot", "name", "is_entry", "trigger_intents", "trigger_keywords", "graph"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["revision_seen"].initial = self.instance.revision

    def clean(self):
        data = super().clean()
        if self.instance.pk and data.get("revision_seen") not in (None, self.instance.revision):
            raise forms.ValidationError(
                "Someone saved this flow after you opened it. Copy your changes, reload the page and apply them again."
            )
        bot, graph = data.get("bot"), data.get("graph")
        if bot is None or graph is None or "graph" in self.errors:
            return data
        try:
            parsed = FlowGraph.model_validate(graph)
        except SchemaError as exc:
            for err in exc.errors():
                self.add_error("graph", f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
            return data
        data["graph"] = parsed.model_dump(mode="json", exclude_defaults=True)
        name = data.get("name") or ""
        spec = FlowSpec(
            name=name,
            is_entry=data.get("is_entry", False),
            trigger_intents=data.get("trigger_intents", []),
            trigger_keywords=data.get("trigger_keywords", []),
            graph=parsed,
        )
        snapshot = selectors.draft_snapshot(bot)
        original = self.instance.name if self.instance.pk else None
        snapshot.flows = [f for f in snapshot.flows if f.name not in (original, name)] + [spec]
        for problem in selectors.draft_problems(bot, snapshot):
            if problem.flow == name:
                self.add_error("graph", problem.message)
        return data


class SecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Paste the key or password. It is stored encrypted and never shown again. "
        "When editing, leave empty to keep the current value.",
    )

    allowed_hosts = _lines("Hosts it may be sent to", Secret.allowed_hosts.field.help_text)

    class Meta:
        model = Secret
        fields = ["workspace", "name", "allowed_hosts"]

    def clean_allowed_hosts(self):
        hosts = _clean_hosts(self.cleaned_data["allowed_hosts"])
        if not hosts:
            raise forms.ValidationError(
                "Name at least one host this secret may be sent to, e.g. api.shop.com: a tool that would send it "
                "anywhere else fails."
            )
        return hosts

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("value"):
            self.add_error("value", "Enter the secret's value.")
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("value"):
            self.instance.set_value(self.cleaned_data["value"])
        return super().save(commit)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in API_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do: read bots, change them, publish them, read or answer conversations.",
    )

    class Meta:
        model = ApiKey
        fields = ["workspace", "name", "scopes", "revoked"]
