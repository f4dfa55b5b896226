"""The chat widget on the demo page, in a real browser against the real ASGI server and the
fake LLM: open it, watch an answer stream in, go through the cancellation flow with a
quick-reply button, lose the connection and resume, type HTML, survive hostile page CSS,
render the bot's markdown safely, show a handoff and a person's reply, and fit a phone screen. Screenshots go to test-artifacts/widget/."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from bots.demo import seed_demo_bot
from bots.models import Workspace
from channels_app import protocol, services
from conversations.models import Conversation, Message
from tests.fakes.openai_server import Reply
from tests.playwright_support import screenshot

HOSTILE_CSS = """
* { font: italic 40px/0.6 "Comic Sans MS", cursive !important; color: #f0f !important;
    background: #ff0 !important; letter-spacing: 6px !important; text-transform: uppercase !important;
    box-sizing: content-box !important; }
div, button, textarea, form, header { display: block !important; width: 12px !important;
    border: 6px dashed red !important; padding: 30px !important; position: static !important; }
switchboard-chat { display: none !important; opacity: 0 !important; transform: scale(0) !important; }
"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str):
    screenshot(page, "widget", name)


@pytest.fixture
def demo_bot(transactional_db, fake_openai):
    workspace, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo workspace"})
    return seed_demo_bot(workspace)


def broadcast(conversation_id: int, frame: dict):
    """As another process would (the agent inbox), from a thread of its own (Playwright's sync
    API keeps an event loop in the test's thread)."""
    try:
        services.broadcast(conversation_id, frame)
    finally:
        connection.close()


def ask(page, text: str):
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def bot_says(page, text: str):
    expect(page.locator(".msg.bot").filter(has_text=text).last).to_be_visible(timeout=15000)


def wait_idle(page):
    expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=15000)


def test_chat_on_the_demo_page(asgi_server, browser, demo_bot, fake_openai):
    fake_openai.token_interval = 0.06  # a visible trickle of tokens
    sockets = []

    def relay(ws):  # a transparent proxy, so the test can cut the connection like a network drop
        ws.connect_to_server()
        sockets.append(ws)

    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.route_web_socket("**/ws/chat/**", relay)
    page.goto(f"{asgi_server}/demo/")
    launcher = page.get_by_role("button", name="Open chat: Acme Support")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("dialog", name="Acme Support")).to_be_visible()
    bot_says(page, "I can check an order, cancel one, or answer questions")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    wait_idle(page)
    shot(page, "1-greeting")

    # Record every text the streamed bubble shows, to see the answer arrive in pieces.
    page.evaluate(
        """() => {
        const log = document.querySelector('switchboard-chat').shadowRoot.querySelector('.log');
        window.__seen = [];
        new MutationObserver(() => {
            const bubbles = log.querySelectorAll('.msg.bot');
            window.__seen.push(bubbles[bubbles.length - 1].textContent);
        }).observe(log, {subtree: true, childList: true, characterData: true});
    }"""
    )
    ask(page, "What is your return policy for shoes?")
    expect(page.locator(".typing")).to_be_visible()
    bot_says(page, "You asked: What is your return policy for shoes?")
    wait_idle(page)
    seen = [t for t in page.evaluate("window.__seen") if t.startswith("You")]
    assert len(set(seen)) >= 3, f"expected the answer to grow in steps, saw {seen}"
    assert all(b.startswith(a) for a, b in zip(seen, seen[1:], strict=False))
    shot(page, "2-streamed-answer")

    # The cancellation flow: email, then a quick-reply button.
    ask(page, "I want to cancel my order")
    bot_says(page, "What's the email address on the order?")
    wait_idle(page)
    ask(page, "not an email")
    bot_says(page, "That doesn't look like an email address")
    wait_idle(page)
    ask(page, "jane@example.com")
    replies = page.get_by_role("group", name="Quick replies")
    expect(replies.get_by_role("button")).to_have_count(2)
    shot(page, "3-quick-replies")
    replies.get_by_role("button", name="Yes, cancel it").click()
    expect(replies).to_have_count(0)
    bot_says(page, "Done: your order is cancelled")
    wait_idle(page)
    shot(page, "4-cancelled")

    # HTML typed by a user is shown as text, and the bot's echo of it too; nothing runs.
    ask(page, '<img src=x onerror="window.__pwned=1"><b>bold?</b>')
    expect(page.locator(".msg.user").last).to_have_text('<img src=x onerror="window.__pwned=1"><b>bold?</b>')
    bot_says(page, "You asked: <img src=x")
    wait_idle(page)
    assert page.locator(".log img").count() == 0 and page.locator(".log b").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "5-html-as-text")

    # Drop the connection: the widget reconnects, resumes the same conversation, shows each
    # message once, and keeps working.
    bubbles = page.locator(".msg").count()
    sockets[-1].close(code=1006)
    expect(page.get_by_role("status")).to_have_text("Reconnecting…")
    expect(page.get_by_role("status")).to_be_hidden(timeout=10000)
    assert len(sockets) == 2
    assert page.locator(".msg").count() == bubbles
    ask(page, "Are you still there?")
    bot_says(page, "You asked: Are you still there?")
    wait_idle(page)
    shot(page, "6-resumed")
    conversations = set(Message.objects.values_list("conversation_id", flat=True))
    assert len(conversations) == 1, "the resumed widget kept its conversation"

    # A reload comes back to the same conversation, replayed from the server.
    page.reload()
    page.get_by_role("button", name="Open chat: Acme Support").click()
    bot_says(page, "You asked: Are you still there?")
    expect(page.locator(".msg.user").filter(has_text="I want to cancel my order")).to_have_count(1)
    assert page.locator(".msg.user").count() == Message.objects.filter(role="user").count()

    # Keyboard: Escape closes the panel and gives focus back to the launcher.
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat: Acme Support")).to_be_focused()


def test_hostile_css_markdown_handoff_and_a_phone_screen(asgi_server, browser, demo_bot, fake_openai):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{asgi_server}/demo/")
    page.add_style_tag(content=HOSTILE_CSS)
    launcher = page.get_by_role("button", name="Open chat: Acme Support")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert (round(box["width"]), round(box["height"])) == (56, 56)
    assert box["x"] + box["width"] == pytest.approx(1280 - 20, abs=1)
    launcher.click()
    panel = page.get_by_role("dialog", name="Acme Support")
    bot_says(page, "I can check an order")
    panel_box = panel.bounding_box()
    assert round(panel_box["width"]) == 370
    font = page.locator(".msg.bot").first.evaluate(
        "e => getComputedStyle(e).fontSize + ' ' + getComputedStyle(e).color"
    )
    assert font == "15px rgb(17, 24, 39)"
    # Markdown from the bot renders through the allow-list: formatting and safe links only.
    fake_openai.script(
        Reply(text="**Bold** and *soft*, [docs](https://acme.test/docs), [bad](javascript:alert(1)) and `code` [1]")
    )
    ask(page, "hello")
    answer = page.locator(".msg.bot").last
    expect(answer.locator("strong")).to_have_text("Bold")
    expect(answer.locator("em")).to_have_text("soft")
    expect(answer.locator("code")).to_have_text("code")
    expect(answer.get_by_role("link", name="docs")).to_have_attribute("href", "https://acme.test/docs")
    expect(answer.get_by_role("link", name="bad")).to_have_count(0)
    expect(answer).to_contain_text("[bad](javascript:alert(1))")
    wait_idle(page)
    shot(page, "7-hostile-css")

    # Handoff status, then a person's message arriving live from another process.
    ask(page, "I want to talk to a human")
    expect(page.get_by_role("status")).to_have_text("An agent will join the conversation shortly.")
    wait_idle(page)
    conversation = Conversation.objects.get(bot=demo_bot)
    assert conversation.status == Conversation.Status.HANDED_OFF
    message = Message.objects.create(conversation=conversation, role="agent", text="Hi, I'm **Dana** from Acme.")
    threading.Thread(target=broadcast, args=(conversation.id, protocol.agent_message(message, "Dana"))).start()
    agent = page.locator(".msg.agent")
    expect(agent).to_contain_text("Dana")
    expect(agent.locator("strong")).to_have_text("Dana")
    expect(page.locator(".msg.bot").filter(has_text="connecting you with a member of our team")).to_have_count(1)
    shot(page, "8-agent")
    page.reload()  # a returning visitor sees the handoff status and the person's message again
    page.get_by_role("button", name="Open chat: Acme Support").click()
    expect(page.get_by_role("status")).to_have_text("An agent will join the conversation shortly.")
    expect(page.locator(".msg.agent")).to_contain_text("Hi, I'm Dana from Acme.")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{asgi_server}/demo/")
    phone.get_by_role("button", name="Open chat: Acme Support").tap()
    bot_says(phone, "I can check an order")
    box = phone.get_by_role("dialog", name="Acme Support").bounding_box()
    assert (round(box["width"]), round(box["height"])) == (390, 844)
    expect(phone.get_by_role("button", name="Close chat")).to_be_visible()
    shot(phone, "9-phone")
