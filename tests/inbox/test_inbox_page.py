"""Two people in real browsers: a customer on the demo page's widget and an agent at /inbox/.
The customer asks for a person, the chat appears in the inbox live, the agent claims it, types
and replies (a canned reply), the customer sees who joined and the reply live; the agent hands
the conversation back and the bot answers the next message. Screenshots: test-artifacts/inbox/."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from bots.demo import seed_demo_bot
from bots.models import Membership, Workspace
from tests.inbox.conftest import make_agent, session_cookie
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_bot(transactional_db, fake_openai):
    workspace, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo workspace"})
    return seed_demo_bot(workspace)


def add_canned_reply(workspace, shortcut: str, text: str):
    """A team lead adds a canned reply in the admin."""
    lead = make_agent(workspace, "lea", role=Membership.Role.OWNER)
    lead.is_staff = True
    lead.save()
    client = Client()
    client.force_login(lead)
    data = {"workspace": workspace.pk, "shortcut": shortcut, "text": text}
    assert client.post("/admin/inbox/cannedreply/add/", data).status_code == 302


def test_an_agent_takes_over_from_the_bot_and_hands_back(asgi_server, browser, demo_bot):
    ana = make_agent(demo_bot.workspace, "ana", first_name="Ana")
    add_canned_reply(demo_bot.workspace, "refund", "Your refund is on its way: 3 to 5 working days.")

    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    desk.add_cookies([{"name": "sessionid", "value": session_cookie(ana), "url": asgi_server}])
    inbox = desk.new_page()
    inbox.goto(f"{asgi_server}/inbox/")
    expect(inbox.get_by_role("heading", name="No chat open")).to_be_visible()
    expect(inbox.locator("[data-queue] .none").first).to_be_visible()
    screenshot(inbox, "inbox", "1-empty")

    site = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    site.goto(f"{asgi_server}/demo/")
    site.get_by_role("button", name="Open chat: Acme Support").click()
    expect(site.locator(".msg.bot").first).to_contain_text("I can check an order")
    box = site.get_by_role("textbox", name="Message")
    box.fill("My parcel is broken, I want to talk to a human")
    box.press("Enter")
    expect(site.get_by_role("status")).to_have_text("An agent will join the conversation shortly.")

    waiting = inbox.locator("[data-queue='support'] .handoff")
    expect(waiting).to_have_count(1, timeout=10000)
    expect(waiting).to_contain_text("Asked for a person")
    expect(waiting).to_contain_text("Website")
    screenshot(inbox, "inbox", "2-waiting")
    waiting.click()
    context = inbox.get_by_role("complementary", name="Context")
    expect(context).to_contain_text("Asked for a person")
    expect(context).to_contain_text("Asks for a person")  # the rule's name
    expect(inbox.locator(".log .msg.user")).to_contain_text("I want to talk to a human")
    inbox.get_by_role("button", name="Claim").click()
    expect(inbox.get_by_role("button", name="Claim")).to_be_hidden()
    expect(inbox.locator("#queue-list section").first.locator(".handoff")).to_have_count(1)  # under My chats
    expect(site.locator(".notice").filter(has_text="Ana joined the conversation")).to_be_visible()

    text = inbox.get_by_role("textbox", name="Message")
    text.fill("Hi, I'm Ana. Sorry about the parcel")
    expect(site.get_by_label("Ana is typing")).to_be_visible()
    text.press("Enter")
    expect(site.locator(".msg.agent").filter(has_text="Sorry about the parcel")).to_contain_text("Ana")
    text.fill("/ref")
    inbox.get_by_role("option").filter(has_text="/refund").click()
    expect(text).to_have_value("Your refund is on its way: 3 to 5 working days.")
    text.press("Enter")
    expect(site.locator(".msg.agent").filter(has_text="3 to 5 working days")).to_be_visible()

    site_box = site.get_by_role("textbox", name="Message")
    site_box.fill("Great, thank you!")
    site_box.press("Enter")
    expect(inbox.locator(".log .msg.user").filter(has_text="Great, thank you!")).to_be_visible()
    inbox.get_by_role("tab", name="Private note").click()
    text.fill("Refund issued in the shop admin")
    text.press("Enter")
    expect(inbox.locator(".log .msg.note")).to_contain_text("Refund issued")
    screenshot(inbox, "inbox", "3-conversation")
    screenshot(site, "inbox", "4-widget-with-agent")
    assert site.locator(".msg").filter(has_text="Refund issued").count() == 0  # notes are never sent

    inbox.get_by_role("button", name="Return to bot").click()
    expect(site.locator(".notice").filter(has_text="Ana returned the conversation to the assistant")).to_be_visible()
    expect(inbox.locator("#thread-sub")).to_contain_text("Back with the bot")
    site_box.fill("What is your return policy for shoes?")
    site_box.press("Enter")
    expect(site.locator(".msg.bot").filter(has_text="You asked: What is your return policy for shoes?")).to_be_visible(
        timeout=15000
    )
    screenshot(site, "inbox", "5-back-with-the-bot")
    screenshot(inbox, "inbox", "6-inbox-after-return")
