"""The bot's chat widget and phone voice as ordinary form fields, with their JSON kept as an
"advanced" view. Both edit the same stored settings: a changed JSON box wins (the builder edited
it on purpose), otherwise the fields are written into the stored JSON, keeping any keys the form
does not show. `static/switchboard/admin/settings.js` keeps the two in step while the page is open."""

from __future__ import annotations

from django import forms
from pydantic import BaseModel
from pydantic import ValidationError as SchemaError
from unfold.widgets import (
    UnfoldAdminColorInputWidget,
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from bots.admin.forms import BotForm, LinesField, PrettyJSONField
from bots.schema import VoiceSettings, WidgetSettings
from channels_app.widget_strings import LANGUAGES
from voice.voices import available_voices


def _text(label, help_text="", **kw):
    return forms.CharField(label=label, help_text=help_text, required=False, widget=UnfoldAdminTextInputWidget, **kw)


def _number(label, help_text, *, step="1", integer=True, **kw):
    field, widget = (forms.IntegerField, UnfoldAdminIntegerFieldWidget) if integer else (forms.FloatField, None)
    widget = widget or UnfoldAdminDecimalFieldWidget
    return field(label=label, help_text=help_text, widget=widget(attrs={"step": step}), **kw)


def _choice(label, help_text, choices):
    return forms.ChoiceField(label=label, help_text=help_text, choices=choices, widget=UnfoldAdminSelectWidget)


def _switch(label, help_text):
    return forms.BooleanField(label=label, help_text=help_text, required=False, widget=UnfoldBooleanWidget)


def _colour(label, help_text):
    return forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        label=label,
        help_text=help_text,
        widget=UnfoldAdminColorInputWidget,
        error_messages={"invalid": "Pick a colour, or type one like #4f46e5."},
    )


WIDGET_FIELDS = {
    "title": _text("Title", "Shown at the top of the chat window, e.g. “Chat with Acme”."),
    "primary_color": _colour("Main colour", "The chat button, the window's top bar and the visitor's messages."),
    "text_color": _colour("Text colour on the main colour", "Pick one that reads well on the main colour."),
    "avatar_url": forms.URLField(
        label="Picture",
        required=False,
        assume_scheme="https",
        widget=UnfoldAdminTextInputWidget,
        help_text="Address of a small square picture shown next to the title (https://…). Empty: none.",
    ),
    "launcher_position": _choice(
        "Chat button position",
        "Which bottom corner of your web page the chat button sits in.",
        [("right", "Bottom right"), ("left", "Bottom left")],
    ),
    "allowed_origins": LinesField(
        label="Websites allowed to show it",
        help_text="One address per line, e.g. https://www.example.com. Empty: any website may show the chat.",
    ),
}

VOICE_FIELDS = {
    "tts_voice": _choice("Voice", "How the bot sounds on the phone. Press “Play a sample” to hear it.", []),
    "speaking_rate": _number(
        "Speaking speed",
        "1 is natural; down to 0.7 is slower, up to 1.2 faster.",
        step="0.05",
        integer=False,
        min_value=0.7,
        max_value=1.2,
    ),
    "stt_language": _text("Language callers speak", "A language code such as en, es, fr, de or pt; multi for several."),
    "barge_in": _switch("Callers can interrupt", "When on, the bot stops talking as soon as the caller speaks."),
    "barge_in_sensitivity": _choice(
        "How easily callers interrupt",
        "Tolerant: “uh-huh”, “okay” and short sounds never stop the bot, words do. High: even a short sound does.",
        [("tolerant", "Tolerant"), ("medium", "Medium"), ("high", "High")],
    ),
    "endpointing_ms": _number(
        "Pause that ends the caller's turn (milliseconds)",
        "How long the caller must be quiet before the bot answers. 300 is snappy; 800 suits slow speakers.",
        min_value=10,
        max_value=5000,
    ),
    "silence_timeout_s": _number(
        "Silence before the bot asks again (seconds)",
        "If the caller says nothing for this long, the bot checks in.",
        step="0.5",
        integer=False,
        min_value=2,
        max_value=120,
    ),
    "silence_reprompts": _number(
        "Times the bot asks again",
        "After this many silent check-ins the bot says goodbye and hangs up.",
        min_value=0,
        max_value=10,
    ),
    "max_call_s": _number("Longest call (seconds)", "The bot ends calls that last longer.", min_value=30),
    "transfer_number": _text(
        "Transfer number", "Where calls go when the bot hands over to a person, e.g. +14155550100."
    ),
    "dtmf": _switch("Callers can use the keypad", "When on, numbers typed on the phone's keypad are answers."),
    "dtmf_finish_key": _choice(
        "Key that sends typed digits",
        "Pressing it sends the digits at once, without waiting.",
        [("#", "# (hash)"), ("*", "* (star)"), ("", "None")],
    ),
    "dtmf_gap_s": _number(
        "Wait after the last key (seconds)",
        "Without the finishing key, typed digits are sent after this pause.",
        step="0.5",
        integer=False,
        min_value=0.5,
        max_value=10,
    ),
}

# (stored JSON field, its schema, its form fields)
GROUPS = [("widget", WidgetSettings, WIDGET_FIELDS), ("voice", VoiceSettings, VOICE_FIELDS)]


def field_name(group: str, key: str) -> str:
    return f"{group}_{key}"


def _declared() -> dict[str, forms.Field]:
    declared = {}
    for group, _, fields in GROUPS:
        for key, field in fields.items():
            field.widget.attrs.update({"data-settings-group": group, "data-settings-key": key})
            declared[field_name(group, key)] = field
    return declared


_SettingsFields = type("_SettingsFields", (forms.Form,), _declared())


class BotSettingsForm(BotForm, _SettingsFields):
    """The bot form with the widget and the voice as fields; their JSON under “Advanced”."""

    language = forms.ChoiceField(
        label="Language",
        choices=LANGUAGES,
        widget=UnfoldAdminSelectWidget,
        help_text="The language your bot speaks. The chat window's own words (Send, Close…) follow it.",
    )
    widget = PrettyJSONField(
        required=False,
        label="Chat widget as JSON",
        help_text="The chat widget settings above, as JSON. Edit either; they stay in step.",
    )
    voice = PrettyJSONField(
        required=False,
        label="Phone voice as JSON",
        help_text="The phone settings above as JSON, plus the speech models: stt_model, tts_model and the "
        "fallback voice and model used when the first voice fails.",
    )

    class Media:
        js = ["switchboard/admin/settings.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        voices = available_voices()
        current = (self.instance.voice or {}).get("tts_voice")
        if current and current not in {voice_id for voice_id, _ in voices}:
            voices = [(current, f"{current} (chosen earlier)"), *voices]
        self.fields[field_name("voice", "tts_voice")].choices = voices
        if self.instance.language and self.instance.language not in dict(LANGUAGES):
            self.fields["language"].choices = [*LANGUAGES, (self.instance.language, self.instance.language)]
        for group, schema, fields in GROUPS:
            stored = schema.model_validate(getattr(self.instance, group) or {}).model_dump(mode="json")
            for key in fields:
                self.initial.setdefault(field_name(group, key), stored[key])

    def clean(self):
        data = super().clean()
        for group, schema, fields in GROUPS:
            names = [field_name(group, key) for key in fields]
            if group in self.errors or any(name in self.errors for name in names):
                continue
            if group in self.changed_data:  # the JSON box was edited: it is the builder's word
                merged = data.get(group) or {}
            else:
                merged = {
                    **(getattr(self.instance, group) or {}),
                    **{key: data[field_name(group, key)] for key in fields},
                }
            self._check(group, schema, fields, merged)
        return data

    def _check(self, group: str, schema: type[BaseModel], fields: dict, value) -> None:
        if not isinstance(value, dict):
            self.add_error(group, 'Write an object: {"name": value, …}.')
            return
        try:
            self.cleaned_data[group] = schema.model_validate(value).model_dump(mode="json")
        except SchemaError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                where = field_name(group, key) if key in fields and group not in self.changed_data else group
                self.add_error(where, f"{key}: {err['msg']}" if where == group else err["msg"])
