"""The analytics dashboard in chromium: its charts draw (Chart.js from django-unfold) and the
figures of known conversations show; the page is saved under test-artifacts/analytics/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analytics import rollups
from analytics.models import ModelPrice
from bots.models import Membership
from tests.inbox.conftest import make_agent, session_cookie
from tests.operations.test_rollups import _converse
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_draws_its_charts(asgi_server, browser, bot, fake_openai):
    for person in _converse(asgi_server, bot):
        person.close()
    rollups.compute_recent()
    ModelPrice.objects.create(
        workspace=bot.workspace, model="gpt-4o-mini", input_per_million=150, output_per_million=600
    )
    owner = make_agent(bot.workspace, "olga", role=Membership.Role.OWNER)
    owner.is_staff = True
    owner.save()

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": session_cookie(owner), "url": asgi_server}])
    page = context.new_page()
    page.goto(f"{asgi_server}/admin/analytics/dashboard/?bot={bot.pk}&days=7")
    expect(page.locator("#containment")).to_have_text("75.0%")
    expect(page.locator("#csat")).to_have_text("66.7%")
    expect(page.locator("#unanswered")).to_contain_text("Shipping to Canada costs?")
    charts = page.locator("canvas.chart")
    expect(charts.first).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('canvas.chart')].every(c => c.width > 0)")
    assert charts.count() >= 4  # conversations, rates, and latency per component
    screenshot(page, "analytics", "dashboard", full_page=True)
