"""The knowledge API: knowledge bases and documents through a workspace key, versions, re-sync,
search, clear errors that change nothing, and another workspace's ids answering 404."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bots import services as bot_services
from bots.models import Workspace
from knowledge import services
from knowledge.models import Document, KnowledgeBase
from tests.knowledge.conftest import DATA

pytestmark = pytest.mark.django_db

SCOPES = ["bots:read", "bots:write"]


def client_for(workspace, scopes=SCOPES) -> Client:
    _, raw = bot_services.create_api_key(workspace=workspace, name="tests", scopes=scopes)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def call(client, method, url, body=None):
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(f"/api/v1/knowledge{url}", data=data, content_type="application/json")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]["message"]


def ingest(document_id: int) -> dict:
    """What the Celery worker does with a queued document."""
    assert services.document_ingest(document_id) in ("ingested", "unchanged")
    return Document.objects.values().get(pk=document_id)


@pytest.fixture
def api(workspace):
    return client_for(workspace)


@pytest.fixture
def kb_id(api, workspace):
    return ok(call(api, "post", "/bases", {"workspace_id": workspace.id, "name": "Help Center"}), 201)["id"]


def test_a_builder_fills_a_knowledge_base_and_searches_it_without_an_api_key(api, workspace, kb_id):
    kb = ok(call(api, "get", f"/bases/{kb_id}"))
    assert kb["search"] == "hybrid (local: wordllama-l2-supercat)"  # no OPENAI_API_KEY: the built-in model

    text = ok(
        call(
            api,
            "post",
            f"/bases/{kb_id}/documents",
            {"title": "Returns", "text": "# Returns\n\nUnused items can be sent back within 30 days of delivery."},
        ),
        201,
    )
    assert text["status"] == "pending" and text["version"] == 0
    assert ingest(text["id"])["version"] == 1

    with open(DATA / "faq.csv", "rb") as fh:
        upload = ok(api.post(f"/api/v1/knowledge/bases/{kb_id}/documents/upload", {"file": fh, "title": "FAQ"}), 201)
    assert upload["source"] == "file" and upload["file_name"] == "faq.csv"
    ingest(upload["id"])

    listed = ok(call(api, "get", f"/bases/{kb_id}/documents"))
    assert {d["id"] for d in listed} == {text["id"], upload["id"]}
    assert all(d["status"] == "ready" and d["chunk_count"] > 0 for d in listed)

    hits = ok(call(api, "post", f"/bases/{kb_id}/search", {"query": "can I send an item back?", "top_k": 3}))
    assert hits[0]["document_title"] == "Returns" and "30 days" in hits[0]["text"]
    assert "vector" in hits[0]["methods"]

    # A new version of the text replaces its passages.
    patched = ok(
        call(api, "patch", f"/documents/{text['id']}", {"text": "# Returns\n\nReturns are accepted for 60 days."})
    )
    assert patched["status"] == "pending"
    assert ingest(text["id"])["version"] == 2
    hits = ok(call(api, "post", f"/bases/{kb_id}/search", {"query": "how many days to return an item"}))
    assert "60 days" in hits[0]["text"] and not any("30 days" in h["text"] for h in hits)

    # Re-sync queues it again; delete removes it and its passages.
    assert ok(call(api, "post", f"/documents/{text['id']}/resync"), 202)["status"] == "pending"
    assert ok(call(api, "delete", f"/documents/{text['id']}"), 204) is None
    assert_error(call(api, "get", f"/documents/{text['id']}"), 404, "not_found")
    assert not KnowledgeBase.objects.get(pk=kb_id).chunks.filter(document_id=text["id"]).exists()


def test_a_new_file_replaces_an_uploaded_documents_passages(api, kb_id):
    first = ok(
        api.post(
            f"/api/v1/knowledge/bases/{kb_id}/documents/upload",
            {"file": _file("policy.md", b"# Policy\n\nDeliveries take five days.")},
        ),
        201,
    )
    ingest(first["id"])
    replaced = ok(
        api.post(
            f"/api/v1/knowledge/documents/{first['id']}/file",
            {"file": _file("policy-v2.md", b"# Policy\n\nDeliveries take two days.")},
        )
    )
    assert replaced["file_name"] == "policy-v2.md" and replaced["status"] == "pending"
    assert ingest(first["id"])["version"] == 2
    texts = [
        h["text"] for h in ok(call(api, "post", f"/bases/{kb_id}/search", {"query": "how long do deliveries take"}))
    ]
    assert texts == ["Deliveries take two days."]


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_bad_input_gets_a_clear_error_and_changes_nothing(api, workspace, kb_id):
    kb = KnowledgeBase.objects.get(pk=kb_id)
    both = {"text": "x", "url": "https://example.com/"}
    assert "either `text`" in json.dumps(call(api, "post", f"/bases/{kb_id}/documents", both).json())
    assert_error(call(api, "post", f"/bases/{kb_id}/documents", both), 422, "invalid_input")
    assert_error(call(api, "post", f"/bases/{kb_id}/documents", {}), 422, "invalid_input")
    assert "empty" in assert_error(call(api, "post", f"/bases/{kb_id}/documents", {"text": "  "}), 400, "bad_request")
    message = assert_error(call(api, "post", f"/bases/{kb_id}/documents", {"url": "ftp://x"}), 400, "bad_request")
    assert "https://" in message
    weekly = {"url": "https://example.com/", "resync_hours": 5}
    assert_error(call(api, "post", f"/bases/{kb_id}/documents", weekly), 422, "invalid_input")
    upload = api.post(f"/api/v1/knowledge/bases/{kb_id}/documents/upload", {"file": _file("virus.exe", b"MZ")})
    assert ".exe" in assert_error(upload, 400, "bad_request")
    assert_error(call(api, "post", f"/bases/{kb_id}/search", {"query": ""}), 422, "invalid_input")
    assert_error(call(api, "post", f"/bases/{kb_id}/search", {"query": "refund\u0000"}), 422, "invalid_input")
    assert_error(call(api, "post", f"/bases/{kb_id}/documents", {"text": "a\u0000b"}), 422, "invalid_input")
    assert_error(call(api, "post", "/bases", {"workspace_id": workspace.id, "name": "Help Center"}), 409, "conflict")
    assert not kb.documents.exists() and KnowledgeBase.objects.count() == 1

    doc = ok(call(api, "post", f"/bases/{kb_id}/documents", {"text": "Opening hours: 9 to 5."}), 201)
    other_kb = ok(call(api, "post", "/bases", {"workspace_id": workspace.id, "name": "Internal"}), 201)
    stranger = ok(call(api, "post", f"/bases/{other_kb['id']}/documents", {"text": "Staff rota."}), 201)
    message = assert_error(
        call(api, "patch", f"/documents/{doc['id']}", {"supersedes_id": stranger["id"]}), 400, "bad_request"
    )
    assert "not in this knowledge base" in message
    assert "itself" in assert_error(
        call(api, "patch", f"/documents/{doc['id']}", {"supersedes_id": doc["id"]}), 400, "bad_request"
    )
    assert "Only web pages" in assert_error(
        call(api, "patch", f"/documents/{doc['id']}", {"resync_hours": 24}), 400, "bad_request"
    )
    assert Document.objects.get(pk=doc["id"]).supersedes_id is None


def test_another_workspaces_knowledge_answers_404_and_is_left_alone(api, kb_id):
    globex = Workspace.objects.create(name="Globex", slug="globex")
    theirs = KnowledgeBase.objects.create(workspace=globex, name="Secret plans")
    document = services.document_add_text(kb=theirs, title="Plans", text="Launch on Monday.")
    ingest(document.pk)

    assert [kb["name"] for kb in ok(call(api, "get", "/bases"))] == ["Help Center"]
    assert_error(call(api, "get", f"/bases/{theirs.pk}"), 404, "not_found")
    assert_error(call(api, "get", f"/bases/{theirs.pk}/documents"), 404, "not_found")
    assert_error(call(api, "post", f"/bases/{theirs.pk}/documents", {"text": "mine now"}), 404, "not_found")
    assert_error(call(api, "post", f"/bases/{theirs.pk}/search", {"query": "launch"}), 404, "not_found")
    assert_error(call(api, "get", f"/documents/{document.pk}"), 404, "not_found")
    assert_error(call(api, "patch", f"/documents/{document.pk}", {"title": "x"}), 404, "not_found")
    assert_error(call(api, "post", f"/documents/{document.pk}/resync"), 404, "not_found")
    assert_error(call(api, "delete", f"/documents/{document.pk}"), 404, "not_found")
    mine = ok(call(api, "post", f"/bases/{kb_id}/documents", {"text": "Ours."}), 201)
    assert_error(call(api, "patch", f"/documents/{mine['id']}", {"supersedes_id": document.pk}), 400, "bad_request")

    document.refresh_from_db()
    assert document.title == "Plans" and document.status == "ready" and theirs.documents.count() == 1
    assert_error(call(Client(), "get", "/bases"), 401, "unauthorized")
    reader = client_for(Workspace.objects.get(pk=KnowledgeBase.objects.get(pk=kb_id).workspace_id), ["bots:read"])
    assert_error(call(reader, "post", f"/bases/{kb_id}/documents", {"text": "no"}), 404, "not_found")
