"""Celery entry points of the inbox: thin, safe to run twice."""

from celery import shared_task

from inbox import services


@shared_task(name="inbox.expire_unclaimed")
def expire_unclaimed() -> int:
    return services.expire_unclaimed()
