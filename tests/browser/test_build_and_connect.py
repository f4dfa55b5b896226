"""A builder makes a phone receptionist and puts it on a website and a phone number with forms
alone: a template, the voice picked from a list, publish, then each channel's page gives what to
paste — the embed snippet with its allowed websites, the Twilio webhook addresses — and a check
sets the addresses on the Twilio number itself (the fake Twilio API records them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bots.models import Bot, ChannelConnection, Membership, Workspace
from tests.bots.conftest import make_user
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NUMBER = "+14155550177"


def shot(page, name: str):
    screenshot(page, "build-and-connect", name, full_page=True)


def test_a_bot_is_built_published_and_connected_without_json(browser, builder_server, fake_twilio):
    fake_twilio.reset()
    fake_twilio.add_number(NUMBER)
    workspace = Workspace.objects.create(name="Acme", slug="acme-connect")
    make_user(workspace, Membership.Role.BUILDER, "connect-bea")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{builder_server}/admin/login/?next=/admin/bots/bot/")
    page.fill("#id_username", "connect-bea")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")

    page.get_by_role("link", name="New bot from template").click()
    page.get_by_text("Phone receptionist", exact=True).click()
    page.fill("#id_name", "Front desk")
    shot(page, "1-template")
    page.click("#create-from-template")
    expect(page.get_by_text("“Front desk” is ready as a draft")).to_be_visible(timeout=15000)
    bot = Bot.objects.get(workspace=workspace, name="Front desk")

    page.get_by_text("Phone calls", exact=True).first.click()
    page.select_option("#id_voice_tts_voice", "onwK4e9ZLuTAKqWW03F9")
    page.click("button[name=_continue]")
    expect(page.get_by_text("was changed successfully")).to_be_visible(timeout=15000)

    page.locator(f"a[href$='/bots/bot/{bot.id}/publish/']").click()
    page.click("#publish-button")
    expect(page.get_by_text("Published version 1")).to_be_visible(timeout=15000)

    page.get_by_role("link", name="Connect a phone number").click()
    page.fill("#id_phone_number", NUMBER)
    page.click("button[name=_continue]")
    expect(page.get_by_text("was added successfully")).to_be_visible(timeout=15000)
    shot(page, "2-phone")
    expect(page.get_by_text("http://testserver/voice/twilio/incoming/")).to_be_visible(timeout=15000)
    page.click("#phone-check-button")
    expect(page.get_by_text(f"Done: Twilio now sends calls to {NUMBER} to Front desk.")).to_be_visible(timeout=15000)
    shot(page, "3-phone-checked")
    number = fake_twilio.numbers[NUMBER]
    assert number["voice_url"] == "http://testserver/voice/twilio/incoming/"
    assert number["status_callback"] == "http://testserver/voice/twilio/status/"
    assert number["voice_method"] == "POST"

    page.goto(f"{builder_server}/admin/bots/bot/{bot.pk}/change/")
    page.get_by_role("link", name="Add it to a website").click()
    page.click("button[name=_continue]")
    expect(page.locator("#embed-snippet")).to_contain_text(f'data-bot="{bot.public_key}"', timeout=15000)
    expect(page.locator("#allowed-origins")).to_contain_text("any website")
    shot(page, "4-web")
    assert set(ChannelConnection.objects.filter(bot=bot).values_list("kind", flat=True)) == {"phone", "web"}
    assert Bot.objects.get(pk=bot.pk).voice["tts_voice"] == "onwK4e9ZLuTAKqWW03F9"


def test_a_number_twilio_does_not_have_is_explained(browser, builder_server, fake_twilio):
    fake_twilio.reset()
    workspace = Workspace.objects.create(name="Acme", slug="acme-connect-2")
    user = make_user(workspace, Membership.Role.BUILDER, "connect-ben")
    bot = Bot.objects.create(workspace=workspace, name="Desk", slug="desk")
    channel = ChannelConnection.objects.create(bot=bot, kind="phone", phone_number="+14155550188")
    page = browser.new_context().new_page()
    page.goto(f"{builder_server}/admin/login/?next=/admin/bots/channelconnection/{channel.pk}/change/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.click("#phone-check-button")
    expect(page.get_by_text("Twilio has no number +14155550188 in this account")).to_be_visible(timeout=15000)
    assert fake_twilio.numbers == {}
