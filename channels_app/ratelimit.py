"""Fixed-window rate limits shared by every process through Redis (per IP, per API key), and a
small in-memory window for limits that belong to one WebSocket connection."""

from __future__ import annotations

import logging
import time

import redis

from config.redis_clients import async_client, sync_client

_PREFIX = "sb:rl:"
log = logging.getLogger(__name__)


def _window_key(name: str, window_s: int) -> str:
    return f"{_PREFIX}{name}:{int(time.time() // window_s)}"


def allow(name: str, *, limit: int, window_s: int = 60) -> bool:
    """Count one hit on `name`; False once more than `limit` hits fell in the current window."""
    key = _window_key(name, window_s)
    with sync_client().pipeline() as pipe:
        count, _ = pipe.incr(key).expire(key, window_s + 1).execute()
    return count <= limit


async def aallow(name: str, *, limit: int, window_s: int = 60) -> bool:
    key = _window_key(name, window_s)
    try:
        async with async_client().pipeline() as pipe:
            count, _ = await pipe.incr(key).expire(key, window_s + 1).execute()
    except redis.RedisError:
        # A limiter that cannot count lets the message through: chat stays up while Redis is
        # slow or away, and the per-connection window still applies.
        log.warning("rate limiter unavailable", extra={"limit_name": name.split(":", 1)[0]})
        return True
    return count <= limit


class LocalWindow:
    """Per-connection limit: no Redis round trip for what only one socket can exceed."""

    def __init__(self, limit: int, window_s: float = 60):
        self.limit, self.window_s = limit, window_s
        self.started, self.count = time.monotonic(), 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self.started >= self.window_s:
            self.started, self.count = now, 0
        self.count += 1
        return self.count <= self.limit
