"""What a bot knows: knowledge bases, their documents and the searchable chunks cut from them.

Embeddings live in one untyped `vector` column so that knowledge bases may use different
models and dimensions side by side. pgvector can only index a typed column, so the migration
builds one partial HNSW index per supported dimension over `embedding::vector(N)` where
`embedding_dim = N`; retrieval writes its ORDER BY with the same cast so the planner uses it.
Adding a dimension = adding it to `SUPPORTED_DIMENSIONS` and a migration with its index.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import VectorField

# Each has its own partial HNSW index (see the migrations): 256 = the built-in model,
# 384 = MiniLM-class models, 768 = nomic/bge-base class, 1536 = OpenAI text-embedding-3-small and ada-002.
SUPPORTED_DIMENSIONS = (256, 384, 768, 1536)
# The Postgres text-search configuration of the generated `search` column.
TEXT_SEARCH_CONFIG = "english"


class KnowledgeBase(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible endpoint (the built-in model while no API key is set)"
        LOCAL = "local", "Built-in model (runs on this server, no API key)"
        NONE = "none", "None — full-text search only"

    workspace = models.ForeignKey("bots.Workspace", on_delete=models.CASCADE, related_name="knowledge_bases")
    name = models.CharField(max_length=120, help_text="Flows refer to it by this name, e.g. “Help Center”.")
    description = models.TextField(blank=True)
    embedding_provider = models.CharField(
        max_length=10,
        choices=Provider.choices,
        default=Provider.OPENAI,
        help_text="Who turns text into vectors for meaning-based search. With none, search matches words only.",
    )
    embedding_model = models.CharField(
        max_length=120, default="text-embedding-3-small", help_text="The endpoint's model (the built-in model has one)."
    )
    embedding_dimension = models.PositiveIntegerField(
        default=1536,
        choices=[(d, str(d)) for d in SUPPORTED_DIMENSIONS],
        help_text="Length of the endpoint model's vectors (the built-in model's are 256). "
        "Changing it means ingesting the documents again.",
    )
    chunk_size = models.PositiveIntegerField(default=350, help_text="Target size of a chunk, in tokens.")
    chunk_overlap = models.PositiveIntegerField(default=50, help_text="Tokens repeated between neighbouring chunks.")
    bots = models.ManyToManyField("bots.Bot", related_name="knowledge_bases", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="kb_name_unique_in_workspace")]

    def __str__(self):
        return self.name

    @property
    def uses_embeddings(self) -> bool:
        return self.embedding_provider != self.Provider.NONE


RESYNC_CHOICES = [(0, "Never"), (24, "Daily"), (168, "Weekly")]


class Document(models.Model):
    class Source(models.TextChoices):
        FILE = "file", "Uploaded file"
        URL = "url", "Web page"
        TEXT = "text", "Pasted text"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        EXTRACTING = "extracting", "Reading"
        CHUNKING = "chunking", "Splitting"
        EMBEDDING = "embedding", "Indexing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    IN_PROGRESS = (Status.PENDING, Status.EXTRACTING, Status.CHUNKING, Status.EMBEDDING)

    kb = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="documents", verbose_name="knowledge base"
    )
    source = models.CharField(max_length=5, choices=Source.choices)
    title = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to="knowledge/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True, help_text="The name the file was uploaded with.")
    url = models.URLField("URL", max_length=2000, blank=True)
    text = models.TextField(blank=True, help_text="For pasted text: the text itself.")
    # Same-site crawl from this URL: how many links deep, and at most how many pages in all.
    crawl_depth = models.PositiveSmallIntegerField(default=0)
    crawl_max_pages = models.PositiveSmallIntegerField(default=20)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="crawled_pages")
    supersedes = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="superseded_by",
        help_text="The older document this one replaces: its passages then never outrank this one's.",
    )
    version = models.PositiveIntegerField(default=0, help_text="How many times new content replaced the chunks.")
    resync_hours = models.PositiveIntegerField(
        "re-sync every", default=0, choices=RESYNC_CHOICES, help_text="Web pages only: fetch again on a schedule."
    )
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the normalised text.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why ingestion failed, in plain words.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Ingestion runs started and not yet finished (a run stopped by a crash counts)."
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent.")
    chunk_count = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0)
    char_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kb", "status"])]

    def __str__(self):
        return self.title or self.file_name or self.url or f"Document {self.pk}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.supersedes_id is not None:
            if self.supersedes_id == self.pk:
                raise ValidationError({"supersedes": "A document cannot supersede itself."})
            if self.supersedes.kb_id != self.kb_id:
                raise ValidationError({"supersedes": "Choose a document of the same knowledge base."})

    @property
    def citation_source(self) -> str:
        """What a citation points at: the page's URL or the uploaded file's name."""
        return self.url or self.file_name or self.title


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    kb = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=500, blank=True, help_text="Heading path, e.g. “Returns › Refunds”.")
    text = models.TextField()
    token_count = models.PositiveIntegerField()
    embedding = VectorField(null=True, blank=True)  # untyped: see the module docstring
    embedding_dim = models.PositiveSmallIntegerField(null=True, blank=True)
    search = models.GeneratedField(
        expression=SearchVector("heading", "text", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="chunk_position_unique")]
        indexes = [GinIndex(fields=["search"], name="chunk_search_gin"), models.Index(fields=["kb"])]

    def __str__(self):
        return f"{self.document} #{self.position}"
