"""Every write to knowledge: adding, replacing, re-ingesting and deleting documents, and ingestion.

Admin, API, the demo seeder and the Celery task all call these. Ingestion
(`document_ingest`) is safe to run twice and to kill at any point: nothing is written to the
chunk table until the last step, which swaps a document's chunks in one transaction under a
row lock. A killed run leaves the previous chunks (or none) and the document in its last
progress state; running it again (the broker redelivers it, or "Ingest again") finishes it.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.logging import bind, reset
from dialogue import netguard
from knowledge import chunk as chunking
from knowledge import crawl
from knowledge.embed import BATCH_SIZE, EmbeddingError, embedder_for, embedding_choice
from knowledge.extract import Extracted, ExtractionError, extract, kind_for_content_type, kind_for_name
from knowledge.fetch import fetch_page
from knowledge.models import RESYNC_CHOICES, Chunk, Document, KnowledgeBase

logger = logging.getLogger(__name__)

GENERIC_FAILURE = "Something went wrong on our side while reading this document. Try “Ingest again”."
MAX_ATTEMPTS = 3
STOPPED_TOO_OFTEN = (
    f"Reading this document was stopped {MAX_ATTEMPTS} times before it could finish: it is probably too large, "
    "or expands to far more than its file size when opened. Split it or upload a smaller copy, then choose "
    "“Ingest again”."
)


class UploadRefused(Exception):
    """An upload or URL refused before anything is stored; the message is shown to the builder."""


# --- adding and changing documents ----------------------------------------------------------------
def _queue(document: Document, *, run_now: bool = False) -> None:
    """Ingest after commit: on the worker, or here in this process (`run_now`, for seeding)."""
    from knowledge.tasks import ingest_document

    if run_now:
        transaction.on_commit(lambda: document_ingest(document.pk))
    else:
        transaction.on_commit(lambda: ingest_document.delay(document.pk))


def _check_upload(upload: UploadedFile) -> None:
    try:
        kind_for_name(upload.name or "")
    except ExtractionError as exc:
        raise UploadRefused(str(exc))
    limit_mb = settings.KNOWLEDGE_MAX_FILE_MB
    if upload.size is not None and upload.size > limit_mb * 1024 * 1024:
        raise UploadRefused(
            f"“{upload.name}” is {upload.size / 1024 / 1024:.1f} MB; the limit is {limit_mb} MB. Split it or compress it."
        )
    if not upload.size:
        raise UploadRefused(f"“{upload.name}” is empty.")


def document_add_file(*, kb: KnowledgeBase, upload: UploadedFile, title: str = "") -> Document:
    """Store an uploaded file and queue its ingestion. Raises `UploadRefused` and stores nothing."""
    _check_upload(upload)
    with transaction.atomic():
        document = Document(kb=kb, source=Document.Source.FILE, title=title, file_name=upload.name[:255])
        document.file.save(upload.name, upload, save=False)
        document.save()
        _queue(document)
    return document


def document_add_files(*, kb: KnowledgeBase, uploads: list[UploadedFile]) -> list[Document]:
    """Several files at once: all are checked before any is stored, so a refusal adds nothing."""
    for upload in uploads:
        _check_upload(upload)
    with transaction.atomic():
        return [document_add_file(kb=kb, upload=upload) for upload in uploads]


def document_add_url(
    *, kb: KnowledgeBase, url: str, crawl_depth: int = 0, crawl_max_pages: int = 20, resync_hours: int = 0
) -> Document:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise UploadRefused(f"“{url}” is not a web address. It should start with https://")
    if not 0 <= crawl_depth <= 3 or not 1 <= crawl_max_pages <= 200:
        raise UploadRefused("A crawl can follow links at most 3 deep and read between 1 and 200 pages.")
    if resync_hours not in dict(RESYNC_CHOICES):
        raise UploadRefused("Re-sync can be never (0), daily (24) or weekly (168).")
    if kb.documents.filter(url=url).exists():
        raise UploadRefused(f"{url} is already in this knowledge base. Use “Ingest again” to fetch it anew.")
    with transaction.atomic():
        document = Document.objects.create(
            kb=kb,
            source=Document.Source.URL,
            url=url,
            crawl_depth=crawl_depth,
            crawl_max_pages=crawl_max_pages,
            resync_hours=resync_hours,
        )
        _queue(document)
    return document


def document_add_text(*, kb: KnowledgeBase, title: str, text: str, run_now: bool = False) -> Document:
    if not text.strip():
        raise UploadRefused("The text is empty.")
    with transaction.atomic():
        document = Document.objects.create(kb=kb, source=Document.Source.TEXT, title=title, text=text)
        _queue(document, run_now=run_now)
    return document


def document_replace_text(*, document: Document, text: str, title: str | None = None) -> Document:
    """A new version of pasted text: its chunks are swapped once it is ingested."""
    if document.source != Document.Source.TEXT:
        raise UploadRefused("Only pasted-text documents can be replaced by text; upload a file or re-sync a page.")
    if not text.strip():
        raise UploadRefused("The text is empty.")
    with transaction.atomic():
        document.text = text
        document.title = document.title if title is None else title[:300]
        document.status, document.progress, document.error = Document.Status.PENDING, 0, ""
        document.save()
        _queue(document)
    return document


def document_replace_file(*, document: Document, upload: UploadedFile) -> Document:
    """A new version of an uploaded file: its chunks are swapped once the new version is ingested."""
    if document.source != Document.Source.FILE:
        raise UploadRefused("Only uploaded documents can be replaced by a file.")
    _check_upload(upload)
    old_file = document.file.name
    with transaction.atomic():
        document.file.save(upload.name, upload, save=False)
        document.file_name = upload.name[:255]
        document.title = ""  # taken from the new version
        document.status, document.progress, document.error = Document.Status.PENDING, 0, ""
        document.attempts = 0
        document.save()
        _queue(document)
    if old_file and old_file != document.file.name:
        document.file.storage.delete(old_file)
    return document


def document_reingest(*, document: Document, fresh: bool = True) -> None:
    """Ingest again (re-fetch a URL, resume a stalled or failed run); an unchanged text is skipped.
    `fresh` (someone asked) starts the attempt count again; resuming a stalled run does not."""
    with transaction.atomic():
        reset = {"attempts": 0} if fresh else {}
        _update(document.pk, status=Document.Status.PENDING, progress=0, error="", **reset)
        _queue(document)


def _stalled_after() -> timedelta:
    # Longer than a task may live (the hard time limit) plus the broker's redelivery: a run that is
    # slow but alive is never queued a second time beside itself.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)


def documents_resume_stalled() -> int:
    """Queue again documents whose ingestion stopped moving: a task lost before it reached the
    broker, or a killed worker (the broker only redelivers after its visibility timeout)."""
    stalled = Document.objects.filter(
        status__in=Document.IN_PROGRESS, updated_at__lt=timezone.now() - _stalled_after()
    ).only("pk")
    count = 0
    for document in stalled:
        document_reingest(document=document, fresh=False)
        count += 1
    return count


def document_set_supersedes(*, document: Document, supersedes: Document | None) -> Document:
    """Mark `document` as the current version of `supersedes` (None: of nothing). Raises
    `UploadRefused` for a document of another knowledge base or itself, and changes nothing."""
    document.supersedes = supersedes
    try:
        document.clean()
    except ValidationError as exc:
        raise UploadRefused(" ".join(exc.messages))
    Document.objects.filter(pk=document.pk).update(supersedes=supersedes, updated_at=timezone.now())
    return document


def documents_resync_due() -> int:
    """Fetch again the web sources whose re-sync interval has passed since they were last read,
    with the pages their crawl found; unchanged pages are skipped by their fingerprint."""
    now = timezone.now()
    count = 0
    roots = Document.objects.filter(source=Document.Source.URL, parent=None, resync_hours__gt=0).exclude(
        status__in=Document.IN_PROGRESS
    )
    for root in roots:
        if root.ingested_at and root.ingested_at > now - timedelta(hours=root.resync_hours):
            continue
        for document in [root, *root.crawled_pages.exclude(status__in=Document.IN_PROGRESS)]:
            document_reingest(document=document)
            count += 1
    return count


def document_delete(*, document: Document) -> None:
    """Remove the document, its chunks (cascade), its crawled pages and its stored file."""
    names = [d.file.name for d in [document, *document.crawled_pages.all()] if d.file]
    storage = document.file.storage
    with transaction.atomic():
        document.delete()
    for name in names:
        storage.delete(name)


# --- ingestion ---------------------------------------------------------------------------------------
def _update(document_id: int, **fields) -> None:
    Document.objects.filter(pk=document_id).update(updated_at=timezone.now(), **fields)


def _outbound_policy(kb: KnowledgeBase) -> netguard.Policy:
    # The workspace's own outbound rules: the same a tool call meets.
    return netguard.Policy.for_workspace(kb.workspace)


def _read(document: Document) -> Extracted:
    if document.source == Document.Source.TEXT:
        return Extracted(document.text, title=document.title)
    if document.source == Document.Source.FILE:
        kind = kind_for_name(document.file_name or document.file.name)
        try:
            with document.file.open("rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise ExtractionError("The uploaded file is missing from storage. Upload it again.")
        return extract(kind, data)
    page = fetch_page(document.url, _outbound_policy(document.kb))
    return extract(kind_for_content_type(page.content_type, document.url), page.content)


def _fingerprint(kb: KnowledgeBase, text: str) -> str:
    """Changes when the text or anything that shapes its chunks and vectors changes (an API key
    configured since the last run included: the endpoint's vectors then replace the built-in model's)."""
    choice = embedding_choice(kb)
    model = f"{choice.provider}:{choice.model}:{choice.dimension}" if choice else "none"
    recipe = f"{kb.chunk_size}:{kb.chunk_overlap}:{model}"
    return hashlib.sha256(f"{recipe}\n{text}".encode()).hexdigest()


def document_ingest(document_id: int) -> str:
    """Extract → normalise → chunk → embed → swap chunks. Returns what happened, for logs and tests."""
    document = Document.objects.select_related("kb__workspace").filter(pk=document_id).first()
    if document is None:
        return "gone"
    token = bind(document_id=document.pk, knowledge_base_id=document.kb_id)
    try:
        # Counted before any work: a run that kills its worker (a file that expands to gigabytes)
        # is redelivered by the broker and resumed by beat, and must not be retried forever.
        Document.objects.filter(pk=document.pk).update(attempts=F("attempts") + 1)
        if Document.objects.filter(pk=document.pk, attempts__gt=MAX_ATTEMPTS).exists():
            return _fail(document, STOPPED_TOO_OFTEN)
        outcome = _ingest(document)
        Document.objects.filter(pk=document.pk).update(attempts=0)
        return outcome
    except (ExtractionError, EmbeddingError) as exc:
        logger.info("document failed: %s", type(exc).__name__)
        return _fail(document, str(exc))
    except SoftTimeLimitExceeded:
        minutes = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
        return _fail(
            document, f"Reading this document took longer than {minutes} minutes. Split it into smaller files."
        )
    except Exception:
        logger.exception("document ingestion crashed")
        return _fail(document, GENERIC_FAILURE)
    finally:
        reset(token)


def _fail(document: Document, message: str) -> str:
    if document.chunks.exists():
        message += " The previous version is still used for answers."
    _update(document.pk, status=Document.Status.FAILED, error=message, attempts=0)
    return "failed"


def _ingest(document: Document) -> str:
    kb = document.kb
    _update(document.pk, status=Document.Status.EXTRACTING, progress=5, error="")
    extracted = _read(document)
    text = chunking.normalize(extracted.text)
    if not text:
        raise ExtractionError("We found no text in this document.")
    named = document.title or extracted.title
    if named and not chunking.HEADING.match(text.split("\n", 1)[0]):
        # A text that doesn't open with a heading is about its title: every chunk carries it into
        # its vector and its full-text entry, as a heading would.
        text = f"# {named.strip()}\n\n{text}"
    embedder = embedder_for(kb)
    digest = _fingerprint(kb, text)
    title = (document.title or extracted.title or document.file_name or document.url)[:300]
    if digest == document.content_hash and document.chunks.exists():
        _update(document.pk, status=Document.Status.READY, progress=100, title=title)
        return "unchanged"

    _update(document.pk, status=Document.Status.CHUNKING, progress=15)
    pieces = chunking.chunk(text, size=kb.chunk_size, overlap=kb.chunk_overlap)

    _update(document.pk, status=Document.Status.EMBEDDING, progress=20)
    vectors: list[list[float] | None] = [None] * len(pieces)
    if embedder is not None:
        for start in range(0, len(pieces), BATCH_SIZE):
            batch = pieces[start : start + BATCH_SIZE]
            # The heading goes into the vector too: "Returns › Refunds" is what the text is about.
            vectors[start : start + len(batch)] = embedder.embed([_embedding_input(p) for p in batch])
            _update(document.pk, progress=20 + int(75 * (start + len(batch)) / len(pieces)))

    if not _swap_chunks(document, pieces, vectors, digest=digest, title=title, chars=len(text)):
        return "gone"
    if document.source == Document.Source.URL and document.crawl_depth > 0:
        _crawl(document, extracted.links)
    return "ingested"


def _embedding_input(piece: chunking.Piece) -> str:
    return f"{piece.heading}\n\n{piece.text}" if piece.heading else piece.text


def _swap_chunks(document, pieces, vectors, *, digest: str, title: str, chars: int) -> bool:
    kb = document.kb
    choice = embedding_choice(kb)
    dim = choice.dimension if choice else None
    with transaction.atomic():
        # The row lock serialises two runs of the same document (a redelivered task and a retry,
        # or an editor's "Ingest again" while the worker is at it).
        locked = Document.objects.select_for_update().filter(pk=document.pk).values_list("content_hash", flat=True)
        if not locked:
            return False  # deleted while we worked
        if locked[0] == digest and Chunk.objects.filter(document_id=document.pk).exists():
            # The other run swapped this very version in: swapping again would only give its
            # chunks new ids under a search that is reading them. This run's progress is undone.
            _update(document.pk, status=Document.Status.READY, progress=100, error="")
            return True
        Chunk.objects.filter(document_id=document.pk).delete()
        Chunk.objects.bulk_create(
            [
                Chunk(
                    document_id=document.pk,
                    kb_id=kb.pk,
                    position=i,
                    heading=piece.heading[:500],
                    text=piece.text,
                    token_count=piece.tokens,
                    embedding=vector,
                    embedding_dim=dim if vector is not None else None,
                )
                for i, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
            ],
            batch_size=500,
        )
        _update(
            document.pk,
            status=Document.Status.READY,
            progress=100,
            error="",
            title=title,
            content_hash=digest,
            chunk_count=len(pieces),
            version=F("version") + 1,
            token_count=sum(p.tokens for p in pieces),
            char_count=chars,
            ingested_at=timezone.now(),
        )
    return True


def _crawl(document: Document, links: list[str]) -> None:
    """Queue same-site pages one level deeper (the start page adds its site's sitemap), within
    the crawl's page limit and robots.txt."""
    root = document.parent or document
    budget = root.crawl_max_pages - 1 - root.crawled_pages.count()
    if budget <= 0:
        return
    policy = _outbound_policy(document.kb)
    robots = crawl.robots_for(document.url, policy)
    if document.parent_id is None:
        links = crawl.sitemap_urls(document.url, robots, policy) + links
    known = set(Document.objects.filter(kb=document.kb, source=Document.Source.URL).values_list("url", flat=True))
    with transaction.atomic():
        for url in crawl.same_site_links(document.url, links, robots):
            if budget <= 0:
                break
            if url in known:
                continue
            page = Document.objects.create(
                kb=document.kb, source=Document.Source.URL, url=url, parent=root, crawl_depth=document.crawl_depth - 1
            )
            _queue(page)
            budget -= 1
