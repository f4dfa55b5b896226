"""The widget asks how the conversation went once a person resolved it, and the answer is stored."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from analytics.models import Rating
from bots.demo import seed_demo_bot
from bots.models import Workspace
from conversations.models import Conversation
from tests.browser.test_widget import broadcast
from tests.integrations.conftest import wait_for
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_widget_asks_for_a_rating_when_the_conversation_is_resolved(asgi_server, browser, fake_openai):
    workspace, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo workspace"})
    seed_demo_bot(workspace)
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{asgi_server}/demo/")
    page.get_by_role("button", name="Open chat: Acme Support").click()
    expect(page.locator(".msg.bot").first).to_be_visible(timeout=15000)
    conversation = wait_for(lambda: Conversation.objects.filter(bot__workspace=workspace).first(), what="the chat")

    # The agent resolves the conversation in the inbox (another process, through the channel layer).
    frame = {"type": "agent_left", "outcome": "resolved", "author": "Ana"}
    sender = threading.Thread(target=broadcast, args=(conversation.pk, frame))
    sender.start()
    sender.join()
    rating = page.get_by_role("group", name="How was this conversation?")
    expect(rating).to_be_visible(timeout=10000)
    screenshot(page, "widget", "rating-asked")
    rating.get_by_role("button", name="4 out of 5").click()
    expect(page.get_by_text("Thank you for your feedback.")).to_be_visible()
    expect(rating).to_have_count(0)
    screenshot(page, "widget", "rating-thanks")
    stored = wait_for(lambda: Rating.objects.filter(conversation=conversation).first(), what="the rating")
    assert (stored.score, stored.source) == (4, "stars")
