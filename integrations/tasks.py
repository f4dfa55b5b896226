"""Celery entry points for integrations: ids in, one attempt of the service, safe to run twice."""

from celery import shared_task

from integrations import services


@shared_task(name=services.DELIVER_TASK)
def deliver_webhook(delivery_id: int, attempt: int) -> None:
    services.webhook_attempt(delivery_id=delivery_id, attempt=attempt)


@shared_task(name=services.ZENDESK_TASK)
def zendesk_sync(connection_id: int, event: str, handoff_id: int, attempt: int) -> None:
    services.zendesk_sync(connection_id=connection_id, event=event, handoff_id=handoff_id, attempt=attempt)
