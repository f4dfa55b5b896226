"""Versions: a new version replaces a document's passages; a document that supersedes another
keeps the outdated one from ever ranking above it."""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import KnowledgeBase
from knowledge.retrieval import retrieve

pytestmark = pytest.mark.django_db

OLD_POLICY = "# Refund policy\n\nRefunds for returned items are paid within 14 days to the original card."
NEW_POLICY = "# Refund policy 2026\n\nWe pay refunds to your card within five working days of receiving the return."


def add(kb, title, text):
    document = services.document_add_text(kb=kb, title=title, text=text)
    assert services.document_ingest(document.pk) == "ingested"
    document.refresh_from_db()
    return document


@pytest.fixture
def kb(workspace):
    return KnowledgeBase.objects.create(workspace=workspace, name="Policies")


def test_a_superseded_policy_never_outranks_the_current_one(kb):
    old = add(kb, "Refund policy (2024)", OLD_POLICY)
    new = add(kb, "Refund policy", NEW_POLICY)
    question = "how many days until refunds for returned items are paid"  # the old wording matches better
    assert retrieve([kb.pk], question)[0].document_title == "Refund policy (2024)"

    services.document_set_supersedes(document=new, supersedes=old)
    hits = retrieve([kb.pk], question)
    assert [h.document_title for h in hits] == ["Refund policy", "Refund policy (2024)"]
    assert retrieve([kb.pk], "refund within 14 days", top_k=1)[0].document_title == "Refund policy"

    services.document_set_supersedes(document=new, supersedes=None)  # undone: ranked on merit again
    assert retrieve([kb.pk], question)[0].document_title == "Refund policy (2024)"


def test_a_new_version_replaces_the_passages_and_counts_up(kb):
    document = add(kb, "Refund policy", OLD_POLICY)
    assert document.version == 1
    services.document_replace_text(document=document, text=NEW_POLICY)
    assert services.document_ingest(document.pk) == "ingested"
    document.refresh_from_db()
    assert document.version == 2 and document.chunk_count == 1
    assert [c.text for c in kb.chunks.all()] == [NEW_POLICY.split("\n\n")[1]]
    services.document_reingest(document=document)  # the same text again: nothing to replace
    assert services.document_ingest(document.pk) == "unchanged"
    document.refresh_from_db()
    assert document.version == 2


def test_a_document_cannot_supersede_itself_or_another_knowledge_bases(kb, workspace):
    document = add(kb, "Refund policy", OLD_POLICY)
    elsewhere = add(KnowledgeBase.objects.create(workspace=workspace, name="Other"), "Other", NEW_POLICY)
    with pytest.raises(services.UploadRefused, match="itself"):
        services.document_set_supersedes(document=document, supersedes=document)
    with pytest.raises(services.UploadRefused, match="same knowledge base"):
        services.document_set_supersedes(document=document, supersedes=elsewhere)
    document.refresh_from_db()
    assert document.supersedes_id is None
