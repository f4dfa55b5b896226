"""The platforms' webhooks: one view for every messaging channel, the adapter does the talking.

`/hooks/<kind>/<webhook key>/` (and Slack's `/interactivity/`): the key in the path names the
connection, whose own secret must have signed the raw body. A bad or missing signature is 403, a
signed body of a shape the platform does not send is 400, and neither changes anything; the
acknowledgement goes out as soon as the messages are recorded, before any turn runs.
"""

from __future__ import annotations

import logging
import secrets
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
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
# A remembered connection is looked up again after this long even with no change marked: the
# backstop for changes made around the ORM (SQL, `QuerySet.update`), which send no signal.
CONNECTION_TTL_S = 5.0
MARK_TTL_S = 60  # longer than CONNECTION_TTL_S: a mark outlives everything remembered before it
_connections: dict[tuple[str, str], tuple[float, str | None, ChannelConnection]] = {}


@csrf_exempt
async def webhook(request, kind: str, key: str, endpoint: str = "events"):
    # Async, with the database work on the dialogue's small pool: a burst of webhooks shares a few
    # connections instead of opening one per request (Django's sync views under ASGI do).
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return HttpResponse("Body too large.", status=413)
    request.endpoint = endpoint
    try:
        outcome = await db(_verified)(request, kind, key)
        if isinstance(outcome, HttpResponse):
            return outcome
        adapter, connection, items = outcome
        await intake.accept(connection, items)
    except (RedisError, KombuError, OSError):
        # Nothing was let through: every platform delivers again after a non-2xx answer.
        log.exception("could not take a %s webhook", kind)
        return HttpResponse(
            "Temporarily unable to accept messages; deliver again later.", status=503, headers={"Retry-After": "30"}
        )
    return adapter.ack(request)


def _connection(kind: str, key: str) -> ChannelConnection | None:
    """The active connection with this webhook key. A burst of webhooks looks it up once: each
    process remembers it while its change mark in Redis stays the same (one Redis read, against
    ~1 ms of CPU for the query), so a connection switched off, deleted or given a new secret is
    refused from the next webhook on, in every process. Only connections that exist are
    remembered, so made-up keys cannot fill the memory."""
    # Read before the database: a change committed in between is then seen on the next webhook.
    mark = cache.get(_mark_key(key))
    now = time.monotonic()
    cached = _connections.get((kind, key))
    if cached is not None and cached[1] == mark and now - cached[0] < CONNECTION_TTL_S:
        return cached[2]
    connection = (
        ChannelConnection.objects.filter(kind=kind, webhook_key=key, is_active=True)
        .select_related("bot__workspace")
        .first()
    )
    if connection is None:
        _connections.pop((kind, key), None)
    else:
        _connections[(kind, key)] = (now, mark, connection)
    return connection


def _mark_key(webhook_key: str) -> str:
    return f"messaging:connection-changed:{webhook_key}"


def _changed(sender, instance: ChannelConnection, **kwargs) -> None:
    # After commit: a process reading the new mark must find the new row. A Redis error is logged
    # and leaves the change to CONNECTION_TTL_S, rather than failing a save that is already made.
    transaction.on_commit(
        lambda: cache.set(_mark_key(instance.webhook_key), secrets.token_hex(8), MARK_TTL_S), robust=True
    )


def watch_connections() -> None:
    """Mark every saved or deleted connection as changed. Signals, because they are the one place
    that sees every path: the admin, the API, YAML import, a bot's or workspace's deletion."""
    post_save.connect(_changed, sender=ChannelConnection, dispatch_uid="messaging-connection-saved")
    post_delete.connect(_changed, sender=ChannelConnection, dispatch_uid="messaging-connection-deleted")


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
