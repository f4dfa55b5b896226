"""The API reference at /api/docs in a browser that may reach nothing but Switchboard: the
Swagger UI comes from the server's own static files and lists the endpoints."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_offline(browser, asgi_server):
    own_host = urlsplit(asgi_server).netloc
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    elsewhere: list[str] = []

    def only_switchboard(route):
        if urlsplit(route.request.url).netloc == own_host:
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    page.route("**/*", only_switchboard)
    page.goto(f"{asgi_server}/api/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Switchboard API", timeout=15000)
    expect(page.locator(".opblock").first).to_be_visible()
    screenshot(page, "api-docs", "offline")
    assert elsewhere == []
