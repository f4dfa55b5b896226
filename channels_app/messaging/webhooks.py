"""The platforms' webhooks: one view for every messaging channel, the adapter does the talking.

`/hooks/<kind>/<webhook key>/` (and Slack's `/interactivity/`): the key in the path names the
connection, whose own secret must have signed the raw body. A bad or missing signature is 403 and
changes nothing; the acknowledgement goes out as soon as the messages are recorded, before any
turn runs.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from bots.models import ChannelConnection
from channels_app.messaging import intake
from channels_app.messaging.base import BadPayload, adapter_for
from dialogue.db import db

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # platforms send a few KB; anything larger is not theirs
# What a signed body of an unforeseen shape raises while it is parsed (BadPayload is a ValueError).
MALFORMED = (LookupError, TypeError, ValueError, RecursionError)
CONNECTION_TTL_S = 5.0
_connections: dict[tuple[str, str], tuple[float, ChannelConnection]] = {}


@csrf_exempt
async def webhook(request, kind: str, key: str, endpoint: str = "events"):
    # Async, with the database work on the dialogue's small pool: a burst of webhooks shares a few
    # connections instead of opening one per request (Django's sync views under ASGI do).
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return HttpResponse("Body too large.", status=413)
    request.endpoint = endpoint
    outcome = await db(_verified)(request, kind, key)
    if isinstance(outcome, HttpResponse):
        return outcome
    adapter, connection, items = outcome
    try:
        await intake.accept(connection, items)
    except (RedisError, KombuError, OSError):
        # Nothing was let through: every platform delivers again after a non-2xx answer.
        log.exception("could not queue a %s webhook", connection.kind, extra={"channel_id": connection.pk})
        return HttpResponse(
            "Temporarily unable to accept messages; deliver again later.", status=503, headers={"Retry-After": "30"}
        )
    return adapter.ack(request)


def _connection(kind: str, key: str) -> ChannelConnection | None:
    """The active connection with this webhook key, remembered for a few seconds: a burst of
    webhooks looks it up once. Only connections that exist are remembered, so made-up keys cannot
    fill the memory; a change in the admin (switched off, new secret) applies within CONNECTION_TTL_S."""
    now = time.monotonic()
    cached = _connections.get((kind, key))
    if cached is not None and now - cached[0] < CONNECTION_TTL_S:
        return cached[1]
    connection = (
        ChannelConnection.objects.filter(kind=kind, webhook_key=key, is_active=True)
        .select_related("bot__workspace")
        .first()
    )
    if connection is None:
        _connections.pop((kind, key), None)
    else:
        _connections[(kind, key)] = (now, connection)
    return connection


def _verified(request, kind: str, key: str):
    """The adapter, connection and parsed items of a verified request, or the response refusing it."""
    adapter = adapter_for(kind)
    connection = _connection(kind, key) if adapter is not None else None
    if connection is None:
        return HttpResponseNotFound("No active channel has this webhook address. Copy it again from the admin.")
    if request.method == "GET":
        return adapter.handshake(request, connection) or HttpResponse("Use POST.", status=405)
    if request.method != "POST":
        return HttpResponse("Use POST.", status=405)
    if not adapter.verify(request, connection):
        log.warning("refused a %s webhook with a bad signature", kind, extra={"channel_id": connection.pk})
        return HttpResponseForbidden("Bad or missing signature.")
    try:
        answer = adapter.handshake(request, connection)
        return answer if answer is not None else (adapter, connection, adapter.parse(request, connection))
    except MALFORMED as exc:
        # Parsing only reads, so refusing the body whole leaves nothing behind. An error other than
        # BadPayload is a shape the adapter did not foresee: logged with its traceback, to be fixed there.
        foreseen = isinstance(exc, BadPayload)
        reason = str(exc) if foreseen else "the body does not have the shape this platform sends."
        log.warning(
            "refused a malformed %s webhook: %s",
            kind,
            reason,
            extra={"channel_id": connection.pk},
            exc_info=not foreseen,
        )
        return HttpResponse(f"Malformed payload: {reason}", status=400)
