"""Celery entry points of the data lifecycle: thin, safe to run twice."""

from celery import shared_task

from privacy import services


@shared_task(name="privacy.purge_expired")
def purge_expired() -> int:
    return services.purge_expired()


@shared_task(name="privacy.deep_redact")
def deep_redact() -> int:
    return services.deep_redact_pending()
