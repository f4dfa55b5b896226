"""Factories and waits for the knowledge tests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bots.models import Workspace
from knowledge.models import Document, KnowledgeBase

DATA = Path(__file__).resolve().parent.parent / "data"


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, DATA.joinpath(name).read_bytes() if content is None else content)


def wait_until_done(document: Document, timeout: float = 60) -> Document:
    """Poll as the admin's progress bar does, until the document is ready or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document.refresh_from_db()
        if document.status in (Document.Status.READY, Document.Status.FAILED):
            return document
        time.sleep(0.1)
    raise AssertionError(f"{document} still {document.status} after {timeout}s")


@pytest.fixture
def workspace(db):
    return Workspace.objects.create(name="Acme", slug="acme")


@pytest.fixture
def kb(workspace):
    """Embeddings from the fake OpenAI server (word hashing), 384-dimensional."""
    return KnowledgeBase.objects.create(
        workspace=workspace, name="Help Center", embedding_dimension=384, chunk_size=120, chunk_overlap=20
    )


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a temporary directory for tests that ingest in this process."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path
