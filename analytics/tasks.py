"""Celery beat entry points: roll-ups of the current and previous hour and day, and alert checks."""

from celery import shared_task

from analytics import alerts, rollups


@shared_task(name="analytics.rollup_recent")
def rollup_recent() -> int:
    return rollups.compute_recent()


@shared_task(name="analytics.evaluate_alerts")
def evaluate_alerts() -> int:
    return alerts.evaluate_all()
