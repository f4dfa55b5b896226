"""Knowledge in the admin: knowledge bases, their documents page (upload, live progress, "try a
question") and documents with a chunk preview. Everything is filtered to the user's workspaces
through `bots.access`; writes go through `knowledge.services`."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from bots.access import EDIT, READ, bots_for, workspaces_for
from knowledge import selectors, services
from knowledge.embed import embedding_choice
from knowledge.extract import SUPPORTED_EXTENSIONS
from knowledge.models import RESYNC_CHOICES, Document, KnowledgeBase
from knowledge.retrieval import retrieve


def search_mode(kb: KnowledgeBase) -> str:
    """How this knowledge base is searched now, in a builder's words."""
    choice = embedding_choice(kb)
    if choice is None:
        return "words only (full text)"
    if choice.provider == "local":
        return "meaning and words (built-in model, runs on this server)"
    return f"meaning and words ({choice.model}, {choice.dimension} dimensions)"


def _workspace_ids(user, action: str) -> set[int]:
    return set(workspaces_for(user, action).values_list("id", flat=True))


class WorkspaceScopedAdmin(ModelAdmin):
    """Reads need READ in the object's workspace, writes EDIT; superusers reach everything."""

    def _workspace_id(self, obj) -> int:
        raise NotImplementedError

    def has_module_permission(self, request):
        return request.user.is_active and bool(_workspace_ids(request.user, READ))

    def has_view_permission(self, request, obj=None):
        ids = _workspace_ids(request.user, READ)
        return bool(ids) if obj is None else self._workspace_id(obj) in ids

    def has_change_permission(self, request, obj=None):
        ids = _workspace_ids(request.user, EDIT)
        return bool(ids) if obj is None else self._workspace_id(obj) in ids

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "workspace", "search_mode", "document_total", "chunk_total", "documents_link")
    list_filter = (("workspace", admin.RelatedOnlyFieldListFilter), "embedding_provider")
    search_fields = ("name",)
    filter_horizontal = ("bots",)
    fieldsets = (
        (None, {"fields": ("workspace", "name", "description", "bots", "documents_link")}),
        (
            "Search settings",
            {
                "fields": (
                    "embedding_provider",
                    "embedding_model",
                    "embedding_dimension",
                    "chunk_size",
                    "chunk_overlap",
                ),
                "description": "Changing these takes effect for documents ingested afterwards: use “Ingest again”.",
            },
        ),
    )
    readonly_fields = ("documents_link",)

    def _workspace_id(self, obj):
        return obj.workspace_id

    def get_queryset(self, request):
        return selectors.with_counts(selectors.knowledge_bases_for(request.user)).select_related("workspace")

    def has_add_permission(self, request):
        return bool(_workspace_ids(request.user, EDIT))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs["queryset"] = workspaces_for(request.user, EDIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "bots":
            kwargs["queryset"] = bots_for(request.user, EDIT)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        kb = form.instance
        stray = kb.bots.exclude(workspace_id=kb.workspace_id)  # a bot answers only from its own workspace
        if stray.exists():
            kb.bots.remove(*stray)
            messages.warning(request, "Bots of other workspaces were not attached.")

    @admin.display(description="Search")
    def search_mode(self, obj):
        return search_mode(obj)

    @admin.display(description="Documents", ordering="document_total")
    def document_total(self, obj):
        return obj.document_total

    @admin.display(description="Chunks", ordering="chunk_total")
    def chunk_total(self, obj):
        return obj.chunk_total

    @admin.display(description="Documents and search")
    def documents_link(self, obj):
        if not obj or not obj.pk:
            return "Save the knowledge base first, then add documents."
        url = reverse("admin:knowledge_knowledgebase_documents", args=[obj.pk])
        return format_html(
            '<a href="{}" class="text-primary-600 font-medium">Add documents, see progress, try a question →</a>', url
        )

    # --- the documents page ------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/documents/", wrap(self.documents_view), name="knowledge_knowledgebase_documents"),
            path("<int:pk>/progress/", wrap(self.progress_view), name="knowledge_knowledgebase_progress"),
            *super().get_urls(),
        ]

    def documents_view(self, request, pk):
        kb = selectors.access_knowledge_base(request.user, pk, READ)
        can_edit = kb.workspace_id in _workspace_ids(request.user, EDIT)
        if request.method == "POST":
            if not can_edit:
                messages.error(request, "Your role in this workspace can read documents but not add them.")
            else:
                self._add_documents(request, kb)
            return redirect(request.path)
        question = request.GET.get("q", "").strip()[:500]
        results = retrieve([kb.pk], question, top_k=8) if question else []
        context = {
            **self.admin_site.each_context(request),
            "title": f"{kb.name}: documents",
            "kb": kb,
            "opts": self.model._meta,
            "can_edit": can_edit,
            "documents": selectors.document_progress(kb),
            "progress_url": reverse("admin:knowledge_knowledgebase_progress", args=[kb.pk]),
            "question": question,
            "results": results,
            "accept": ",".join(SUPPORTED_EXTENSIONS),
            "search_mode": search_mode(kb),
            "resync_choices": RESYNC_CHOICES,
        }
        return TemplateResponse(request, "knowledge/admin/documents.html", context)

    def _add_documents(self, request, kb):
        files = request.FILES.getlist("files")
        urls = [line.strip() for line in request.POST.get("urls", "").splitlines() if line.strip()]
        text = request.POST.get("text", "")
        try:
            depth = int(request.POST.get("crawl_depth") or 0)
            max_pages = int(request.POST.get("crawl_max_pages") or 20)
            resync_hours = int(request.POST.get("resync_hours") or 0)
            supersedes_id = int(request.POST["supersedes"]) if request.POST.get("supersedes") else None
        except ValueError:
            messages.error(request, "Crawl depth, page limit and re-sync must be whole numbers.")
            return
        older = kb.documents.filter(pk=supersedes_id).first() if supersedes_id else None
        if supersedes_id and older is None:
            messages.error(request, "The document it replaces is no longer in this knowledge base.")
            return
        if older is not None and len(files) + bool(text.strip()) != 1:
            messages.error(request, "A new version is one file or one text: add them one at a time.")
            return
        if not (files or urls or text.strip()):
            messages.error(request, "Choose files, type web addresses or paste text to add.")
            return
        added = 0
        try:
            new: list[Document] = []
            if files:
                new += services.document_add_files(kb=kb, uploads=files)
            for url in urls:
                services.document_add_url(
                    kb=kb, url=url, crawl_depth=depth, crawl_max_pages=max_pages, resync_hours=resync_hours
                )
                added += 1
            if text.strip():
                new.append(services.document_add_text(kb=kb, title=request.POST.get("title", "")[:300], text=text))
            added += len(new)
            if older is not None:
                services.document_set_supersedes(document=new[0], supersedes=older)
        except services.UploadRefused as refused:
            messages.error(request, str(refused))
        if added:
            messages.success(request, f"{added} document{'s' if added != 1 else ''} added: reading them now.")

    def progress_view(self, request, pk):
        kb = selectors.access_knowledge_base(request.user, pk, READ)
        documents = selectors.document_progress(kb)
        return JsonResponse({"documents": documents, "busy": any(d["busy"] for d in documents)})


@admin.register(Document)
class DocumentAdmin(WorkspaceScopedAdmin):
    list_display = ("__str__", "kb", "source", "status", "progress", "chunk_count", "updated_at")
    list_filter = ("status", "source", ("kb", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("kb",)
    search_fields = ("title", "file_name", "url")
    ordering = ("-created_at",)
    actions = ("ingest_again",)
    fields = (
        "kb",
        "source",
        "title",
        "file_name",
        "url",
        "status",
        "error",
        "progress",
        "version",
        "supersedes",
        "resync_hours",
        "chunk_count",
        "token_count",
        "ingested_at",
        "chunks_preview",
    )
    readonly_fields = fields

    def _workspace_id(self, obj):
        return obj.kb.workspace_id

    def get_queryset(self, request):
        return selectors.documents_for(request.user).select_related("kb")

    def has_add_permission(self, request):
        return False  # documents are added on their knowledge base's documents page

    def has_change_permission(self, request, obj=None):
        return False  # a record of what was ingested: change it by uploading a new version

    def has_delete_permission(self, request, obj=None):
        return super().has_change_permission(request, obj)

    @admin.display(description="Chunks (first 50)")
    def chunks_preview(self, obj):
        return render_to_string("knowledge/admin/chunks.html", {"chunks": selectors.chunk_preview(obj)})

    @admin.action(description="Ingest again (re-fetch pages, resume stalled or failed documents)")
    def ingest_again(self, request, queryset):
        allowed = queryset.filter(kb__workspace__in=workspaces_for(request.user, EDIT))
        for document in allowed:
            services.document_reingest(document=document)
        self.message_user(request, f"{allowed.count()} document(s) queued for ingestion.")

    def delete_model(self, request, obj):
        services.document_delete(document=obj)

    def delete_queryset(self, request, queryset):
        for document in queryset:
            services.document_delete(document=document)
