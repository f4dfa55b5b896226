"""The chat widget's own words (buttons, labels, notices), in the bot's language.

The widget fetches them with its settings (`GET /api/v1/chat/widget/<key>`), so a page shows the
chat in the bot's language without shipping translations in the bundle. Translations live in
`channels_app/locale/` (Django's gettext catalogues); `{title}` and `{author}` are filled in by
the widget.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish — Español"),
    ("fr", "French — Français"),
    ("de", "German — Deutsch"),
    ("pt", "Portuguese — Português"),
]

STRINGS = {
    "open_chat": _("Open chat: {title}"),
    "close_chat": _("Close chat"),
    "conversation": _("Conversation"),
    "typing": _("The assistant is typing"),
    "person_typing": _("{author} is typing"),
    "placeholder": _("Type your message…"),
    "message": _("Message"),
    "send": _("Send"),
    "quick_replies": _("Quick replies"),
    "agent": _("Agent"),
    "agent_soon": _("An agent will join the conversation shortly."),
    "joined": _("{author} joined the conversation"),
    "resolved": _("{author} resolved the conversation"),
    "returned": _("{author} returned the conversation to the assistant"),
    "reconnecting": _("Reconnecting…"),
    "ended": _("This conversation has ended."),
    "error": _("Something went wrong."),
    "unavailable": _("Chat is unavailable on this page."),
}


def widget_strings(language: str) -> dict[str, str]:
    """Every string in `language` (its base language for "pt-BR"; English when unknown)."""
    with translation.override(language.split("-")[0].lower() or "en"):
        return {key: str(text) for key, text in STRINGS.items()}
