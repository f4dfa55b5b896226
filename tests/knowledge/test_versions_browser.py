"""The documents page in a real browser with the built-in model: paste a policy, then its new
version marked as replacing it, and ask in other words: the current policy comes first, the old
one is labelled outdated."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from bots.models import Membership
from knowledge import services
from knowledge.models import KnowledgeBase
from tests.playwright_support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_version_outranks_the_old_and_the_page_says_so(browser, asgi_server, celery_worker, workspace):
    user = get_user_model().objects.create_user("builder", password="pw-123456789", is_staff=True)
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.BUILDER)
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Policies", embedding_provider="local")
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}])
    page = context.new_page()
    try:
        page.goto(f"{asgi_server}/admin/knowledge/knowledgebase/{kb.pk}/documents/")
        expect(page.locator("#kb-search-mode")).to_have_text(
            "Search: meaning and words (built-in model, runs on this server)"
        )
        page.get_by_label("Or paste text — title").fill("Refund policy 2024")
        page.get_by_label("Text", exact=True).fill("Refunds for returned items are paid within 14 days.")
        page.get_by_role("button", name="Add").click()
        expect(page.locator(".kb-status-ready")).to_have_count(1, timeout=60_000)

        page.get_by_label("Or paste text — title").fill("Refund policy 2026")
        page.get_by_label("Text", exact=True).fill("We pay your money back within five working days.")
        page.get_by_label("The file or text added is the new version of").select_option(label="Refund policy 2024")
        page.get_by_role("button", name="Add").click()
        expect(page.locator(".kb-status-ready")).to_have_count(2, timeout=60_000)
        expect(page.get_by_text("Outdated: superseded by Refund policy 2026")).to_be_visible()
        expect(page.get_by_text("Replaces Refund policy 2024")).to_be_visible()

        page.get_by_label("Question").fill("when do I get reimbursed for returned items")
        page.get_by_role("button", name="Search").click()
        rows = page.locator("#kb-results tbody tr")
        expect(rows.first).to_contain_text("Refund policy 2026")
        expect(rows.first.locator(".kb-method")).to_have_text(["meaning"])
        expect(rows.nth(1)).to_contain_text("Refund policy 2024")
        screenshot(page, "knowledge", "versions", full_page=True)
    finally:
        context.close()
        for document in kb.documents.all():
            services.document_delete(document=document)
