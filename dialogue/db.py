"""ORM work of a turn, on a small pool of threads instead of the process's one shared thread.

`sync_to_async`'s thread-sensitive default runs every ORM call of a process with no request
context (WebSocket consumers, the voice pipeline) on one thread, so concurrent conversations
queue behind each other's queries (bench/turn.py: p95 at 100 conversations fell from ~5 s to
~1.6 s on a loaded 2-core box when this pool replaced it). A turn's reads and writes are each
their own transaction and need no thread affinity, so they run here, several at once; each
thread keeps its database connection between calls (a dropped one is closed, and the next call
reconnects).

Called from sync code through `async_to_sync` (the studio's console, management commands), the
caller's own thread is used instead, as Django does: its open transaction must see the turn.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import AsyncToSync, sync_to_async
from django.db import InterfaceError, OperationalError, connection

DB_THREADS = 4

_pool = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="dialogue-db")


def _called_from_sync_code() -> bool:
    # asgiref records the sync thread waiting on this event loop here (what thread-sensitive
    # `sync_to_async` itself checks first).
    return getattr(AsyncToSync.executors, "current", None) is not None


def db(fn):
    """`await db(fn)(*args)`: run the sync `fn` on the pool (or the sync caller's thread)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InterfaceError, OperationalError):
            connection.close()
            raise

    pooled = sync_to_async(call, thread_sensitive=False, executor=_pool)
    inline = sync_to_async(call)

    @functools.wraps(fn)
    async def run(*args, **kwargs):
        return await (inline if _called_from_sync_code() else pooled)(*args, **kwargs)

    return run


def close_connections() -> None:
    """Close every pool thread's database connection (test teardown, before dropping a database)."""
    barrier = threading.Barrier(DB_THREADS)

    def close():
        try:
            barrier.wait(timeout=5)  # holds each task on its own thread until all have started
        except threading.BrokenBarrierError:
            pass
        connection.close()

    for future in [_pool.submit(close) for _ in range(DB_THREADS)]:
        future.result()
