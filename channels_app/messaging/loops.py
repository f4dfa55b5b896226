"""One event loop per worker thread, kept between tasks.

Celery runs a messaging turn (async code) from a thread; `asyncio.run` per task would open
fresh Redis, database-pool and LLM clients every time (they are per loop), so each thread keeps
its own loop and the clients on it live as long as the worker.
"""

from __future__ import annotations

import asyncio
import threading

from channels_app import layer

_local = threading.local()


def run(coroutine):
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(layer.flush())  # live frames the task queued leave before the loop stops
