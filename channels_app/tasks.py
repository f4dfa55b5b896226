"""Celery entry points for messaging channels: ids in, the service does the work (safe to run twice)."""

from celery import shared_task

from channels_app.messaging import intake, loops, outbox, worker
from dialogue.turn import TurnBusy

TURN_TIME_LIMIT_S = 120  # below intake.STALLED_AFTER, so a live turn is never resumed twice


@shared_task(
    name="channels.handle_inbound",
    bind=True,
    max_retries=60,
    time_limit=TURN_TIME_LIMIT_S,
    soft_time_limit=TURN_TIME_LIMIT_S - 10,
)
def handle_inbound(self, connection_id: int, event_id: str) -> str:
    try:
        return loops.run(worker.handle(connection_id, event_id))
    except TurnBusy as exc:  # a long turn of the same conversation: wait for it rather than talk over it
        raise self.retry(exc=exc, countdown=1)


@shared_task(name="channels.deliver_pending", time_limit=TURN_TIME_LIMIT_S, soft_time_limit=TURN_TIME_LIMIT_S - 10)
def deliver_pending(conversation_id: int) -> int:
    return loops.run(outbox.deliver_pending(conversation_id))


@shared_task(name="channels.resume_stalled_inbound")
def resume_stalled_inbound() -> int:
    return intake.resume_stalled()
