"""A builder who has never seen JSON sets up a bot's chat widget and phone voice through forms in a
real browser: the live preview follows every change (in the bot's language), the JSON under
“Advanced” stays in step both ways, a voice sample plays through ElevenLabs (the fake), and what
was saved is what the published bot serves."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from bots.models import Bot, Membership, Workspace
from bots.yaml_io import import_bot
from tests.bots.conftest import make_user
from tests.dialogue.conftest import tool_server  # noqa: F401
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMPLE_BOT = """
switchboard: 1
name: Shop helper
slug: shop-helper
greeting: Hi! Ask me about your order.
flows:
  - name: main
    is_entry: true
    graph:
      entry: hello
      nodes:
        - {id: hello, kind: message, text: "I can help with orders."}
"""


def shot(page, name: str):
    screenshot(page, "builder-forms", name, full_page=True)


def log_in(page, base: str, username: str):
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    expect(page.locator("#welcome")).to_be_visible()


def tab(page, name: str):
    page.get_by_text(name, exact=True).first.click()


def test_widget_and_voice_are_set_up_with_forms_alone(browser, builder_server, fake_elevenlabs):
    fake_elevenlabs.reset()
    workspace = Workspace.objects.create(name="Acme", slug="acme-forms")
    make_user(workspace, Membership.Role.BUILDER, "forms-bea")
    bot = import_bot(workspace=workspace, text=SIMPLE_BOT)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    log_in(page, builder_server, "forms-bea")

    page.goto(f"{builder_server}/admin/bots/bot/{bot.id}/change/")
    page.select_option("#id_language", "es")
    tab(page, "Chat widget")
    page.fill("#id_widget_title", "Habla con Acme")
    page.fill("#id_widget_primary_color", "#0f766e")
    page.select_option("#id_widget_launcher_position", "left")
    preview = page.locator("#widget-preview")
    expect(preview.locator(".sbp-title")).to_have_text("Habla con Acme")
    expect(preview.locator(".sbp-send")).to_have_text("Enviar")
    expect(preview.locator(".sbp-greeting")).to_have_text("Hi! Ask me about your order.")
    expect(preview.locator(".sbp-launcher")).to_have_css("left", "16px")
    expect(preview.locator(".sbp-launcher")).to_have_css("background-color", "rgb(15, 118, 110)")
    shot(page, "1-widget")

    tab(page, "Advanced")
    advanced = json.loads(page.locator("#id_widget").input_value())
    assert advanced["title"] == "Habla con Acme" and advanced["launcher_position"] == "left"
    advanced["title"] = "Hola desde el JSON"
    page.fill("#id_widget", json.dumps(advanced, indent=2))
    shot(page, "2-advanced")
    tab(page, "Chat widget")
    expect(page.locator("#id_widget_title")).to_have_value("Hola desde el JSON")

    tab(page, "Phone calls")
    page.select_option("#id_voice_tts_voice", "fake-voice-amy")
    page.fill("#id_voice_speaking_rate", "1.1")
    page.uncheck("#id_voice_barge_in")
    page.select_option("#id_voice_dtmf_finish_key", "*")
    page.get_by_role("button", name="Play a sample").click()
    expect(page.locator("#voice-sample-status")).to_contain_text("sample", timeout=15000)
    expect(page.locator("#voice-sample-audio")).to_be_visible()
    assert fake_elevenlabs.requests[-1]["voice"] == "fake-voice-amy"
    assert fake_elevenlabs.requests[-1]["speed"] == pytest.approx(1.1)
    shot(page, "3-voice")

    page.click("button[name=_continue]")
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    bot = Bot.objects.get(pk=bot.pk)
    assert bot.language == "es"
    assert bot.widget["title"] == "Hola desde el JSON" and bot.widget["primary_color"] == "#0f766e"
    assert bot.widget["launcher_position"] == "left"
    assert bot.voice["tts_voice"] == "fake-voice-amy" and bot.voice["speaking_rate"] == pytest.approx(1.1)
    assert bot.voice["barge_in"] is False and bot.voice["dtmf_finish_key"] == "*"
    shot(page, "4-saved")


TOOL_BOT = """
switchboard: 1
name: Orders
slug: orders
tools:
  - name: order_status
    url: "{base}/orders/{{{{ order_id }}}}"
    parameters: {{type: object, properties: {{order_id: {{type: string}}}}, required: [order_id]}}
    response_field: status
flows:
  - name: main
    is_entry: true
    graph:
      entry: hello
      nodes:
        - {{id: hello, kind: message, text: "Hi"}}
"""


def test_a_tool_is_read_as_tables_and_tested_from_its_form(browser, builder_server, tool_server):  # noqa: F811
    workspace = Workspace.objects.create(
        name="Shop", slug="shop-tool-tab", tool_allowed_hosts=["127.0.0.1"], allow_private_networks=True
    )
    make_user(workspace, Membership.Role.BUILDER, "tool-tab-bea")
    bot = import_bot(workspace=workspace, text=TOOL_BOT.format(base=tool_server.server.base_url))
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    log_in(page, builder_server, "tool-tab-bea")
    page.goto(f"{builder_server}/admin/bots/bot/{bot.id}/change/")
    tab(page, "Tools")
    expect(page.locator("input[name='tools-0-parameter_rows-0-name']")).to_have_value("order_id")
    page.locator(".tool-test input[data-argument=order_id]").fill("1002")
    page.get_by_role("button", name="Test this tool").click()
    expect(page.locator(".tool-test [data-bot-gets]")).to_have_text("being packed", timeout=15000)
    expect(page.locator(".tool-test [data-response]")).to_contain_text('"eta"')
    shot(page, "5-tool")
