"""The chat widget on a customer's web page speaks the bot's language and looks the way the
builder set it: French words (from the server's translations), the chat button in the bottom-left
corner, the chosen colours."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bots.models import Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRENCH_BOT = """
switchboard: 1
name: Boutique
slug: boutique
language: fr
greeting: Bonjour ! Comment puis-je vous aider ?
widget: {title: Parlez-nous, primary_color: "#fde047", text_color: "#1f2937", launcher_position: left}
channels: [{kind: web}]
flows:
  - name: main
    is_entry: true
    graph:
      entry: hello
      nodes:
        - {id: hello, kind: message, text: "Je peux suivre vos commandes."}
"""


def test_the_widget_speaks_the_bots_language_in_the_chosen_corner(browser, asgi_server, fake_openai):
    workspace = Workspace.objects.create(name="Boutique", slug="boutique")
    bot = import_bot(workspace=workspace, text=FRENCH_BOT)
    publish_bot(bot=bot, user=None)
    page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    page.route(
        f"{asgi_server}/shop/",  # the customer's page, served beside the widget
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<html><body><h1>Ma boutique</h1><script src="{asgi_server}/static/switchboard/widget.js" '
            f'data-bot="{bot.public_key}" async></script></body></html>',
        ),
    )
    page.goto(f"{asgi_server}/shop/")
    launcher = page.get_by_role("button", name="Ouvrir le chat : Parlez-nous")
    expect(launcher).to_be_visible(timeout=15000)
    box = launcher.bounding_box()
    assert box["x"] < 100  # bottom left, not right
    expect(launcher).to_have_css("background-color", "rgb(253, 224, 71)")
    expect(launcher).to_have_css("color", "rgb(31, 41, 55)")
    launcher.click()
    expect(page.get_by_placeholder("Écrivez votre message…")).to_be_visible()
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    expect(page.get_by_role("button", name="Fermer le chat")).to_be_visible()
    screenshot(page, "widget", "french-left")
