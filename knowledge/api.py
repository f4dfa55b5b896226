"""Knowledge API: /api/v1/knowledge/... — knowledge bases, their documents, re-sync and search.

Same authentication, scopes and error shape as the management API (`bots.api`): a workspace API
key (`bots:read` to read and search, `bots:write` to change) or a logged-in admin session.
Everything is fetched through `knowledge.selectors`, so another workspace's ids answer 404;
every write goes through `knowledge.services`, the same functions the admin calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.db import IntegrityError, transaction
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import AfterValidator, Field, model_validator

from bots.access import EDIT, READ, access_workspace
from bots.api.common import AUTH, ERRORS, conflict
from config.api import ApiError
from knowledge import selectors, services
from knowledge.embed import embedding_choice
from knowledge.models import RESYNC_CHOICES, Document, KnowledgeBase
from knowledge.retrieval import retrieve

router = Router(auth=AUTH, tags=["knowledge"])
RESYNC_HOURS = tuple(dict(RESYNC_CHOICES))


def _refused(exc: services.UploadRefused) -> ApiError:
    return ApiError(400, "bad_request", str(exc))


def _printable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL stores no NUL character in text
        raise ValueError("Text may not contain NUL characters.")
    return value


Text = Annotated[str, AfterValidator(_printable)]


# --- Knowledge bases ---------------------------------------------------------------------------------------


class KnowledgeBaseIn(Schema):
    workspace_id: int
    name: Text = Field(min_length=1, max_length=120)
    description: Text = ""
    embedding_provider: KnowledgeBase.Provider = KnowledgeBase.Provider.OPENAI
    bot_ids: list[int] = []


class KnowledgeBaseOut(Schema):
    id: int
    workspace_id: int
    name: str
    description: str
    embedding_provider: str
    search: str  # what searches this knowledge base now: "hybrid (model)" or "full text"
    bot_ids: list[int]

    @staticmethod
    def resolve_search(kb):
        choice = embedding_choice(kb)
        return f"hybrid ({choice.provider}: {choice.model})" if choice else "full text"

    @staticmethod
    def resolve_bot_ids(kb):
        return sorted(kb.bots.values_list("id", flat=True))


@router.get("/knowledge/bases", response=list[KnowledgeBaseOut])
def list_knowledge_bases(request):
    return selectors.knowledge_bases_for(request.auth).order_by("name")


@router.post("/knowledge/bases", response={201: KnowledgeBaseOut, **ERRORS})
def create_knowledge_base(request, data: KnowledgeBaseIn):
    workspace = access_workspace(request.auth, data.workspace_id, EDIT)
    bots = list(workspace.bots.filter(pk__in=data.bot_ids))
    if len(bots) != len(set(data.bot_ids)):
        raise ApiError(422, "invalid_input", "Some bot_ids are not bots of this workspace.", {"bot_ids": data.bot_ids})
    try:
        with transaction.atomic():
            kb = KnowledgeBase.objects.create(
                workspace=workspace,
                name=data.name,
                description=data.description,
                embedding_provider=data.embedding_provider,
            )
            kb.bots.set(bots)
    except IntegrityError:
        raise conflict(f"This workspace already has a knowledge base named “{data.name}”.")
    return Status(201, kb)


@router.get("/knowledge/bases/{kb_id}", response={200: KnowledgeBaseOut, **ERRORS})
def get_knowledge_base(request, kb_id: int):
    return selectors.access_knowledge_base(request.auth, kb_id, READ)


# --- Documents ---------------------------------------------------------------------------------------------


class DocumentOut(Schema):
    id: int
    knowledge_base_id: int = Field(alias="kb_id")
    source: str
    title: str
    file_name: str
    url: str
    status: str
    error: str
    progress: int
    version: int
    chunk_count: int
    supersedes_id: int | None
    superseded_by_ids: list[int]
    resync_hours: int
    crawled_from_id: int | None = Field(alias="parent_id")
    ingested_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_superseded_by_ids(document):
        return sorted(document.superseded_by.values_list("id", flat=True))


class DocumentIn(Schema):
    """Pasted text (`text`, optional `title`) or a web page (`url`, optional crawl and re-sync)."""

    title: Text = Field(default="", max_length=300)
    text: Text | None = None
    url: Text | None = Field(default=None, max_length=2000)
    crawl_depth: int = Field(default=0, ge=0, le=3)
    crawl_max_pages: int = Field(default=20, ge=1, le=200)
    resync_hours: int = Field(default=0, description="0 (never), 24 (daily) or 168 (weekly); web pages only")
    supersedes_id: int | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.text is None) == (self.url is None):
            raise ValueError("Send either `text` (pasted text) or `url` (a web page), not both and not neither.")
        if self.resync_hours not in RESYNC_HOURS:
            raise ValueError("resync_hours must be 0 (never), 24 (daily) or 168 (weekly).")
        return self


class DocumentPatch(Schema):
    """Change a title, what it supersedes, its re-sync; `text` replaces a pasted text's version."""

    title: Text | None = Field(default=None, max_length=300)
    text: Text | None = None
    supersedes_id: int | None = None
    resync_hours: int | None = None


def _supersede(document: Document, supersedes_id: int | None) -> None:
    older = None
    if supersedes_id is not None:
        older = document.kb.documents.filter(pk=supersedes_id).first()
        if older is None:
            raise services.UploadRefused(
                f"Document {supersedes_id} is not in this knowledge base: a document supersedes one of its own."
            )
    services.document_set_supersedes(document=document, supersedes=older)


@router.get("/knowledge/bases/{kb_id}/documents", response={200: list[DocumentOut], **ERRORS})
def list_documents(request, kb_id: int):
    kb = selectors.access_knowledge_base(request.auth, kb_id, READ)
    return kb.documents.order_by("-created_at")


@router.post("/knowledge/bases/{kb_id}/documents", response={201: DocumentOut, **ERRORS})
def add_document(request, kb_id: int, data: DocumentIn):
    kb = selectors.access_knowledge_base(request.auth, kb_id, EDIT)
    try:
        with transaction.atomic():
            if data.url is not None:
                document = services.document_add_url(
                    kb=kb,
                    url=data.url,
                    crawl_depth=data.crawl_depth,
                    crawl_max_pages=data.crawl_max_pages,
                    resync_hours=data.resync_hours,
                )
            else:
                document = services.document_add_text(kb=kb, title=data.title, text=data.text)
            if data.supersedes_id is not None:
                _supersede(document, data.supersedes_id)
    except services.UploadRefused as exc:
        raise _refused(exc)
    return Status(201, document)


@router.post("/knowledge/bases/{kb_id}/documents/upload", response={201: DocumentOut, **ERRORS})
def upload_document(
    request, kb_id: int, file: File[UploadedFile], title: Form[str] = "", supersedes_id: Form[int | None] = None
):
    """A file (PDF, Word, Markdown, HTML, text, or a CSV of questions and answers)."""
    kb = selectors.access_knowledge_base(request.auth, kb_id, EDIT)
    if "\x00" in title:
        raise ApiError(422, "invalid_input", "The title may not contain NUL characters.")
    try:
        with transaction.atomic():
            document = services.document_add_file(kb=kb, upload=file, title=title[:300])
            if supersedes_id is not None:
                _supersede(document, supersedes_id)
    except services.UploadRefused as exc:
        raise _refused(exc)
    return Status(201, document)


@router.get("/knowledge/documents/{document_id}", response={200: DocumentOut, **ERRORS})
def get_document(request, document_id: int):
    return selectors.access_document(request.auth, document_id, READ)


@router.patch("/knowledge/documents/{document_id}", response={200: DocumentOut, **ERRORS})
def update_document(request, document_id: int, data: DocumentPatch):
    document = selectors.access_document(request.auth, document_id, EDIT)
    fields = data.model_fields_set
    if "resync_hours" in fields and data.resync_hours not in RESYNC_HOURS:
        raise ApiError(422, "invalid_input", "resync_hours must be 0 (never), 24 (daily) or 168 (weekly).")
    try:
        with transaction.atomic():
            if "supersedes_id" in fields:
                _supersede(document, data.supersedes_id)
            if "text" in fields:
                services.document_replace_text(document=document, text=data.text or "", title=data.title)
            elif "title" in fields:
                Document.objects.filter(pk=document.pk).update(title=data.title or "")
            if "resync_hours" in fields:
                if document.source != Document.Source.URL:
                    raise services.UploadRefused("Only web pages re-sync on a schedule.")
                Document.objects.filter(pk=document.pk).update(resync_hours=data.resync_hours)
    except services.UploadRefused as exc:
        raise _refused(exc)
    document.refresh_from_db()
    return document


@router.post("/knowledge/documents/{document_id}/file", response={200: DocumentOut, **ERRORS})
def replace_file(request, document_id: int, file: File[UploadedFile]):
    """A new version of an uploaded file: its passages replace the old ones once it is read."""
    document = selectors.access_document(request.auth, document_id, EDIT)
    try:
        services.document_replace_file(document=document, upload=file)
    except services.UploadRefused as exc:
        raise _refused(exc)
    document.refresh_from_db()
    return document


@router.post("/knowledge/documents/{document_id}/resync", response={202: DocumentOut, **ERRORS})
def resync_document(request, document_id: int):
    """Read the document again now (a web page is fetched anew); unchanged content is skipped."""
    document = selectors.access_document(request.auth, document_id, EDIT)
    services.document_reingest(document=document)
    document.refresh_from_db()
    return Status(202, document)


@router.delete("/knowledge/documents/{document_id}", response={204: None, **ERRORS})
def delete_document(request, document_id: int):
    services.document_delete(document=selectors.access_document(request.auth, document_id, EDIT))
    return Status(204, None)


# --- Search ------------------------------------------------------------------------------------------------


class SearchIn(Schema):
    query: Text = Field(min_length=1, max_length=1000)
    top_k: int = Field(default=5, ge=1, le=50)


class PassageOut(Schema):
    chunk_id: int
    document_title: str
    source_url: str
    heading: str
    text: str
    score: float
    methods: list[str]


@router.post("/knowledge/bases/{kb_id}/search", response={200: list[PassageOut], **ERRORS})
def search(request, kb_id: int, data: SearchIn):
    """The passages that best answer `query`, best first: the same search a bot's answers use."""
    kb = selectors.access_knowledge_base(request.auth, kb_id, READ)
    if not data.query.strip():
        raise ApiError(422, "invalid_input", "Type a question to search for.")
    return [hit.__dict__ | {"methods": list(hit.methods)} for hit in retrieve([kb.pk], data.query, top_k=data.top_k)]
