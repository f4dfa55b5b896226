"""Messages to channel-layer groups from synchronous code (services, after commit), without holding
the calling thread.

A turn's database work runs on a few pooled threads, and `async_to_sync(group_send)` there blocks
the thread until the event loop, busy with every other conversation, gets round to the send: 200
handoffs at once then queued for seconds behind each other (bench/inbox.py). From a thread an
event loop called into, the send is handed to that loop and the thread moves on; one sender task
per loop keeps sends in the order they were made. Called with no loop (tests, management
commands), it sends synchronously.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

_chains: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop → {group: its pending sends}
_senders: set[asyncio.Task] = set()


def send_after_commit(group: str, message: dict) -> None:
    """`group_send` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(group, message))


def send(group: str, message: dict) -> None:
    loop = _calling_loop()
    if loop is None:
        async_to_sync(get_channel_layer().group_send)(group, message)
    else:
        loop.call_soon_threadsafe(_enqueue, loop, group, message)


def _calling_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop that called into this thread through `sync_to_async`, if any."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _enqueue(loop: asyncio.AbstractEventLoop, group: str, message: dict) -> None:
    """On the loop: sends to one group leave in order (a person joined, then their message); sends
    to different groups do not wait for each other."""
    chains = _chains.setdefault(loop, {})
    pending = chains.get(group)
    if pending is not None:
        pending.append(message)
        return
    chains[group] = [message]
    task = loop.create_task(_drain(chains, group))
    _senders.add(task)
    task.add_done_callback(_senders.discard)


async def _drain(chains: dict, group: str) -> None:
    layer = get_channel_layer()
    pending = chains[group]
    try:
        while pending:
            try:
                await layer.group_send(group, pending[0])
            except Exception:  # a lost live frame must not stop the ones after it; pages catch up on reload
                log.exception("channel layer send failed", extra={"group": group})
            pending.pop(0)
    finally:
        del chains[group]


async def flush() -> None:
    """Wait until this loop's queued sends are out (before a worker's loop stops between tasks)."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(task for task in list(_senders) if task.get_loop() is loop))
