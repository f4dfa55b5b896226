"""The widget's settings endpoint gives its own words in the published bot's language (the
languages Switchboard ships; English for others) with the corner and colours the builder chose."""

from __future__ import annotations

import pytest
from django.test import Client

from bots.models import Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot

pytestmark = pytest.mark.django_db

BOT = """
switchboard: 1
name: Words
slug: words-{language}
language: {language}
widget: {{launcher_position: left, text_color: "#111111"}}
flows:
  - {{name: main, is_entry: true, graph: {{entry: hi, nodes: [{{id: hi, kind: message, text: Hi}}]}}}}
"""

EXPECTED = {"en": "Send", "es": "Enviar", "fr": "Envoyer", "de": "Senden", "pt": "Enviar", "pt-BR": "Enviar"}


@pytest.mark.parametrize("language", [*EXPECTED, "ja"])
def test_the_widget_gets_its_words_in_the_bots_language(language):
    workspace, _ = Workspace.objects.get_or_create(slug="words", defaults={"name": "Words"})
    bot = import_bot(workspace=workspace, text=BOT.format(language=language))
    publish_bot(bot=bot, user=None)
    config = Client().get(f"/api/v1/chat/widget/{bot.public_key}").json()
    assert config["strings"]["send"] == EXPECTED.get(language, "Send")
    assert "{title}" in config["strings"]["open_chat"]  # filled in by the widget
    assert (config["launcher_position"], config["text_color"], config["language"]) == ("left", "#111111", language)


def test_an_unknown_key_gets_a_plain_404():
    response = Client().get("/api/v1/chat/widget/pk_nobody")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
