"""Reads of knowledge data, always scoped to the workspaces a user may see (via `bots.access`)."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from bots.access import READ, workspaces_for
from knowledge.models import Chunk, Document, KnowledgeBase


def knowledge_bases_for(user, action: str = READ) -> QuerySet[KnowledgeBase]:
    return KnowledgeBase.objects.filter(workspace__in=workspaces_for(user, action))


def documents_for(user, action: str = READ) -> QuerySet[Document]:
    return Document.objects.filter(kb__workspace__in=workspaces_for(user, action))


def access_knowledge_base(user, kb_id, action: str = READ) -> KnowledgeBase:
    """The knowledge base, if `user` may perform `action` on it; otherwise 404, like a missing id."""
    try:
        return knowledge_bases_for(user, action).select_related("workspace").get(pk=int(kb_id))
    except (KnowledgeBase.DoesNotExist, TypeError, ValueError):
        raise Http404("No such knowledge base.")


def access_document(user, document_id, action: str = READ) -> Document:
    """The document, if `user` may perform `action` on its knowledge base; otherwise 404."""
    try:
        return documents_for(user, action).select_related("kb__workspace").get(pk=int(document_id))
    except (Document.DoesNotExist, TypeError, ValueError):
        raise Http404("No such document.")


def with_counts(queryset: QuerySet[KnowledgeBase]) -> QuerySet[KnowledgeBase]:
    return queryset.annotate(document_total=Count("documents", distinct=True), chunk_total=Count("chunks"))


def document_progress(kb: KnowledgeBase) -> list[dict]:
    """What the admin's progress bars show, newest first; small enough to poll every second."""
    rows = list(
        kb.documents.order_by("-created_at").values(
            "id",
            "title",
            "file_name",
            "url",
            "source",
            "status",
            "progress",
            "error",
            "chunk_count",
            "version",
            "supersedes_id",
            "updated_at",
        )
    )
    labels = dict(Document.Status.choices)
    names = {row["id"]: row["title"] or row["file_name"] or row["url"] or f"Document {row['id']}" for row in rows}
    newer = {row["supersedes_id"]: names[row["id"]] for row in rows if row["supersedes_id"] in names}
    return [
        {
            "id": row["id"],
            "name": names[row["id"]],
            "version": row["version"],
            "supersedes": names.get(row["supersedes_id"], ""),
            "superseded_by": newer.get(row["id"], ""),
            "source": row["source"],
            "status": row["status"],
            "status_label": labels[row["status"]],
            "busy": row["status"] in Document.IN_PROGRESS,
            "progress": row["progress"],
            "error": row["error"],
            "chunk_count": row["chunk_count"],
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows
    ]


def chunk_preview(document: Document, limit: int = 50) -> QuerySet[Chunk]:
    return document.chunks.order_by("position").only("position", "heading", "text", "token_count", "embedding_dim")[
        :limit
    ]
