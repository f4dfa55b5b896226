"""The knowledge admin: workspace isolation, several uploads at once, progress JSON, try a question."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from bots.models import Membership, Workspace
from knowledge import services
from knowledge.models import Document, KnowledgeBase
from tests.knowledge.conftest import DATA

pytestmark = pytest.mark.django_db


def member(workspace, role=Membership.Role.BUILDER, name="builder"):
    user = get_user_model().objects.create_user(name, password="pw-123456789", is_staff=True)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def setup(workspace, media):
    other = Workspace.objects.create(name="Globex", slug="globex")
    mine = KnowledgeBase.objects.create(workspace=workspace, name="Acme help", embedding_provider="none")
    theirs = KnowledgeBase.objects.create(workspace=other, name="Globex secrets", embedding_provider="none")
    secret = services.document_add_text(kb=theirs, title="Secret", text="The vault code is 1234.")
    services.document_ingest(secret.pk)
    return mine, theirs, secret


def test_members_see_only_their_workspaces_knowledge(client, workspace, setup):
    mine, theirs, secret = setup
    client.force_login(member(workspace))
    listing = client.get("/admin/knowledge/knowledgebase/").content.decode()
    assert "Acme help" in listing and "Globex secrets" not in listing
    assert client.get(f"/admin/knowledge/knowledgebase/{theirs.pk}/documents/").status_code == 404
    assert client.get(f"/admin/knowledge/knowledgebase/{theirs.pk}/progress/").status_code == 404
    assert client.get(f"/admin/knowledge/document/{secret.pk}/change/").status_code in (302, 404)
    assert "Secret" not in client.get("/admin/knowledge/document/").content.decode()


def test_upload_several_files_and_urls_then_watch_progress_and_try_a_question(
    client, workspace, setup, django_capture_on_commit_callbacks
):
    mine, _, _ = setup
    client.force_login(member(workspace))
    page = f"/admin/knowledge/knowledgebase/{mine.pk}/documents/"
    files = [SimpleUploadedFile(n, (DATA / n).read_bytes()) for n in ("shipping.md", "faq.csv", "warranty.pdf")]
    with django_capture_on_commit_callbacks() as queued:
        resp = client.post(page, {"files": files, "urls": "https://help.example.com/returns\n"}, follow=True)
    assert "4 documents added: reading them now." in resp.content.decode()
    assert len(queued) == 4  # one ingestion task per document, sent after commit

    progress = client.get(f"/admin/knowledge/knowledgebase/{mine.pk}/progress/").json()
    assert progress["busy"] is True
    assert {d["name"] for d in progress["documents"]} == {
        "shipping.md",
        "faq.csv",
        "warranty.pdf",
        "https://help.example.com/returns",
    }
    for doc in mine.documents.filter(source=Document.Source.FILE):
        services.document_ingest(doc.pk)
    shipping_id = mine.documents.get(file_name="shipping.md").pk
    shipping = next(d for d in client.get(progress_url(mine)).json()["documents"] if d["id"] == shipping_id)
    assert shipping == shipping | {"name": "Shipping", "status": "ready", "progress": 100, "busy": False}

    answer = client.get(page, {"q": "do you ship to Brazil"}).content.decode()
    assert "We ship to Canada, Brazil" in answer and "International shipping" in answer
    assert '<span class="kb-method">words</span>' in answer

    doc = mine.documents.get(file_name="shipping.md")
    preview = client.get(f"/admin/knowledge/document/{doc.pk}/change/").content.decode()
    assert "#0 · " in preview and "Orders leave our warehouse" in preview


def progress_url(kb):
    return f"/admin/knowledge/knowledgebase/{kb.pk}/progress/"


def test_a_refused_upload_shows_why_and_adds_nothing(client, workspace, setup):
    mine, _, _ = setup
    client.force_login(member(workspace))
    files = [SimpleUploadedFile("ok.md", b"# Fine"), SimpleUploadedFile("virus.exe", b"MZ")]
    resp = client.post(f"/admin/knowledge/knowledgebase/{mine.pk}/documents/", {"files": files}, follow=True)
    assert "“virus.exe” is a file type we can&#x27;t read (.exe)" in resp.content.decode()
    assert not mine.documents.exists()


def test_viewers_can_search_but_not_add(client, workspace, setup):
    mine, _, _ = setup
    client.force_login(member(workspace, Membership.Role.VIEWER, "viewer"))
    page = f"/admin/knowledge/knowledgebase/{mine.pk}/documents/"
    assert client.get(page).status_code == 200
    resp = client.post(page, {"urls": "https://example.com/"}, follow=True)
    assert "can read documents but not add them" in resp.content.decode()
    assert not mine.documents.exists()


def test_ingest_again_and_delete_from_the_documents_list(client, workspace, setup, django_capture_on_commit_callbacks):
    mine, _, secret = setup
    client.force_login(member(workspace))
    doc = services.document_add_text(kb=mine, title="Hours", text="Open daily until eight.")
    services.document_ingest(doc.pk)
    with django_capture_on_commit_callbacks() as queued:
        resp = client.post(
            "/admin/knowledge/document/",
            {"action": "ingest_again", "_selected_action": [doc.pk, secret.pk]},
            follow=True,
        )
    assert "1 document(s) queued for ingestion." in resp.content.decode()  # not the other workspace's
    assert len(queued) == 1
    doc.refresh_from_db()
    assert doc.status == Document.Status.PENDING

    resp = client.post(f"/admin/knowledge/document/{doc.pk}/delete/", {"post": "yes"}, follow=True)
    assert resp.status_code == 200
    assert not Document.objects.filter(pk=doc.pk).exists() and not mine.chunks.exists()
    assert Document.objects.filter(pk=secret.pk).exists()
