"""The knowledge documents page in a real browser: upload several files, watch the progress
bars reach Ready (the page polls the progress endpoint; the real worker ingests), then try a
question and read the ranked passages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from bots.models import Membership
from knowledge import services
from knowledge.models import KnowledgeBase
from tests.knowledge.conftest import DATA
from tests.playwright_support import screenshot

FILES = ("shipping.md", "faq.csv", "warranty.pdf", "opening-hours.docx")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_watch_progress_and_try_a_question(browser, asgi_server, celery_worker, fake_openai, workspace):
    user = get_user_model().objects.create_user("builder", password="pw-123456789", is_staff=True)
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.BUILDER)
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Help Center", embedding_dimension=384)
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}])
    page = context.new_page()
    try:
        page.goto(f"{asgi_server}/admin/knowledge/knowledgebase/{kb.pk}/documents/")
        page.set_input_files("#kb-files", [str(DATA / name) for name in FILES])
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_text("4 documents added: reading them now.")).to_be_visible()
        expect(page.locator(".kb-status-ready")).to_have_count(4, timeout=60_000)
        expect(page.locator('.kb-bar[aria-valuenow="100"]')).to_have_count(4)
        screenshot(page, "knowledge", "documents", full_page=True)

        page.get_by_label("Question").fill("do you ship to Brazil")
        page.get_by_role("button", name="Search").click()
        first = page.locator("#kb-results tbody tr").first
        expect(first).to_contain_text("We ship to Canada, Brazil")
        expect(first).to_contain_text("International shipping")
        expect(first.locator(".kb-method")).to_have_text(["meaning", "words"])
        screenshot(page, "knowledge", "try-a-question", full_page=True)

        page.get_by_role("link", name="warranty.pdf").click()
        expect(page.get_by_text("Every Acme toaster carries a two year warranty.")).to_be_visible()
        screenshot(page, "knowledge", "document", full_page=True)
    finally:
        context.close()
        for document in kb.documents.all():
            services.document_delete(document=document)
