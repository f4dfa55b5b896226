"""The contact page in a real browser: an owner erases a contact and sees what went."""

from __future__ import annotations

import threading

import pytest
from django.test import Client
from playwright.sync_api import expect

from bots.models import Membership
from conversations.models import Conversation
from tests.bots.conftest import make_user
from tests.dialogue.conftest import Talk, demo_snapshot
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_erases_a_contact_in_the_browser(browser, asgi_server, acme_bot, tool_server, fake_openai):
    # The browser's event loop owns this thread: the conversation runs on another one.
    talker = threading.Thread(
        target=lambda: Talk(acme_bot, demo_snapshot(tool_server), contact_id="caller-2").say("hi")
    )
    talker.start()
    talker.join()
    client = Client()
    client.force_login(make_user(acme_bot.workspace, Membership.Role.OWNER, "olga"))
    context = browser.new_context(viewport={"width": 1300, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}])
    page = context.new_page()
    page.goto(f"{asgi_server}/admin/privacy/auditentry/contact/")
    page.get_by_label("Contact id").fill("caller-2")
    screenshot(page, "privacy", "contact-form")
    page.get_by_role("button", name="Erase everywhere").click()
    expect(page.get_by_text("Tick the box to confirm the erasure.")).to_be_visible()
    page.get_by_label("Tick to erase").check()
    page.get_by_role("button", name="Erase everywhere").click()
    expect(page.get_by_text("Erased: 1 conversations")).to_be_visible()
    screenshot(page, "privacy", "contact-erased")
    assert not Conversation.objects.filter(contact_id="caller-2").exists()
