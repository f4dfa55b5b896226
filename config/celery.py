import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard", include=["config.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _telemetry(**_):
    from config import telemetry

    telemetry.setup("worker")


@signals.worker_process_init.connect
def _telemetry_after_fork(**_):
    from config import telemetry

    telemetry.setup("worker", force=True)  # the parent's exporter thread did not survive the fork
