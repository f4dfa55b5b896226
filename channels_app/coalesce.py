"""Token coalescing for streamed answers.

The first delta of a turn goes out at once (it is what the user waits for); the following ones
are joined into one frame per `interval`, because a frame per token costs a WebSocket send each
and the eye cannot tell the difference.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class DeltaCoalescer:
    def __init__(self, send: Callable[[str], Awaitable[None]], interval: float):
        self._send = send
        self._interval = interval
        self._pending: list[str] = []
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()  # a timer flush and an inline flush must not reorder frames
        self._flushes: set[asyncio.Task] = set()

    async def add(self, text: str) -> None:
        self._pending.append(text)
        wait = self._last + self._interval - time.monotonic()
        if not self._last or wait <= 0:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush_soon)

    def _flush_soon(self) -> None:
        task = asyncio.ensure_future(self.flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def flush(self) -> None:
        """Send what is pending now (called before any non-delta frame, and at the end)."""
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._last = time.monotonic()
            await self._send(text)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
