"""A builder in a real browser: log in, change the demo bot's greeting, break a flow reference
and see it refused in plain words, fix it, publish, and find the new version in the history."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from bots.demo import seed_demo_bot
from bots.models import Bot, Membership, Workspace
from tests.bots.conftest import make_user
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str):
    screenshot(page, "admin", name, full_page=True)


def test_builder_edits_greeting_fixes_a_flow_and_publishes(browser, asgi_server):
    workspace = Workspace.objects.create(name="Acme", slug="acme-browser")
    user = make_user(workspace, Membership.Role.BUILDER, "builder-bea")
    bot = seed_demo_bot(workspace, user)
    flow = bot.flows.get()
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()

    page.goto(f"{asgi_server}/admin/login/?next=/admin/")
    page.fill("#id_username", "builder-bea")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    expect(page.locator("#welcome")).to_be_visible()
    shot(page, "1-index")

    page.goto(f"{asgi_server}/admin/bots/bot/{bot.id}/change/")
    page.fill("#id_greeting", "Hello from the browser! How can Acme help?")
    page.click("button[name=_continue]")
    expect(page.locator("#id_greeting")).to_have_value("Hello from the browser! How can Acme help?")
    expect(page.locator("#version-history")).to_contain_text("Version 1")
    shot(page, "2-greeting-saved")

    page.goto(f"{asgi_server}/admin/bots/flow/{flow.id}/change/")
    graph = json.loads(page.locator("#id_graph").input_value())
    step = next(n for n in graph["nodes"] if n["id"] == "ask_email")
    step["next"] = "confirm_typo"
    page.fill("#id_graph", json.dumps(graph, indent=2))
    page.click("button[name=_continue]")
    error = page.get_by_text("step “ask_email” goes to “confirm_typo”")
    expect(error).to_be_visible()
    shot(page, "3-broken-reference")

    step["next"] = "confirm_cancel"
    page.fill("#id_graph", json.dumps(graph, indent=2))
    page.click("button[name=_continue]")
    expect(page.get_by_text("confirm_typo")).to_have_count(0)
    shot(page, "4-flow-fixed")

    page.goto(f"{asgi_server}/admin/bots/bot/{bot.id}/change/")
    page.locator(f"a[href$='/bots/bot/{bot.id}/publish/']").click()
    expect(page.locator("[data-change=changed]")).to_contain_text("greeting")
    page.fill("#id_note", "Friendlier greeting")
    shot(page, "5-publish")
    page.click("#publish-button")
    history = page.locator("#version-history")
    expect(history).to_contain_text("Version 2")
    expect(history).to_contain_text("Friendlier greeting")
    shot(page, "6-published")

    history.get_by_role("link", name="Version 2").click()
    expect(page.locator("#version-diff")).to_contain_text("Changes from version 1 to version 2")
    expect(page.locator("#version-diff")).to_contain_text("Hello from the browser!")
    shot(page, "7-version-diff")

    current = Bot.objects.get(pk=bot.id).versions.get(is_current=True)
    assert current.number == 2 and current.snapshot["greeting"] == "Hello from the browser! How can Acme help?"
    assert current.author == user
