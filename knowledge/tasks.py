"""Celery entry points for knowledge: ids in, the service does the work (and is safe to run twice)."""

from celery import shared_task

from knowledge import services


@shared_task(name="knowledge.ingest_document")
def ingest_document(document_id: int) -> str:
    return services.document_ingest(document_id)


@shared_task(name="knowledge.resume_stalled_documents")
def resume_stalled_documents() -> int:
    return services.documents_resume_stalled()


@shared_task(name="knowledge.resync_due_sources")
def resync_due_sources() -> int:
    return services.documents_resync_due()
