"""`make run`'s seed: the demo bot answers from the Acme Help Center, offline (built-in model + full text)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from knowledge.embed import LOCAL_DIMENSION, LOCAL_MODEL, EmbeddingChoice, embedding_choice
from knowledge.models import Document, KnowledgeBase
from knowledge.retrieval import retrieve

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_help_center_once_and_it_answers_without_an_api_key(django_capture_on_commit_callbacks):
    for _ in range(2):  # idempotent
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", stdout=io.StringIO())
    kb = KnowledgeBase.objects.get(name="Acme Help Center")
    assert embedding_choice(kb) == EmbeddingChoice("local", LOCAL_MODEL, LOCAL_DIMENSION)
    assert list(kb.bots.values_list("slug", flat=True)) == ["acme-support"]
    titles = sorted(kb.documents.values_list("title", flat=True))
    assert titles == ["Opening hours", "Returns and refunds", "Shipping", "Warranty"]
    assert set(kb.documents.values_list("status", flat=True)) == {Document.Status.READY}

    hit = retrieve([kb.pk], "how long is the warranty on an appliance?")[0]
    assert hit.document_title == "Warranty" and "2-year warranty" in hit.text and hit.methods == ("vector", "fulltext")
    assert retrieve([kb.pk], "when is the Lisbon store open")[0].heading == "Opening hours › Flagship store"
