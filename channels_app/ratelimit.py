"""Rate limits shared by every process through Redis (per IP), and a small in-memory window
for limits that belong to one WebSocket connection.

The shared limit is a sliding log (a sorted set of hit times per name), not a fixed window:
a fixed window lets twice the limit through across a minute boundary.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

import redis

from config.redis_clients import async_client

_PREFIX = "sb:rl:"
log = logging.getLogger(__name__)


async def aallow(name: str, *, limit: int, window_s: int = 60) -> bool:
    """Count one hit on `name`; False once more than `limit` hits fell in the last `window_s`."""
    return await aretry_after(name, limit=limit, window_s=window_s) == 0


async def aretry_after(name: str, *, limit: int, window_s: int = 60) -> int:
    """Count one hit on `name`; 0 when it is within the limit, else the seconds until one more
    hit would be (what a 429's `Retry-After` says). Refused hits count too: hammering on waits longer."""
    key, now = _PREFIX + name, time.time()
    try:
        async with async_client().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, 0, now - window_s)
            pipe.zadd(key, {uuid.uuid4().hex: now})
            pipe.zcard(key)
            pipe.expire(key, window_s + 1)
            _, _, count, _ = await pipe.execute()
            if count <= limit:
                return 0
            # The next hit fits once all but limit - 1 of the hits now counted have left the window.
            oldest_kept = await async_client().zrange(key, count - limit, count - limit, withscores=True)
    except redis.RedisError:
        # A limiter that cannot count lets the hit through: chat stays up while Redis is slow or
        # away, and the per-connection window still applies.
        log.warning("rate limiter unavailable", extra={"limit_name": name.split(":", 1)[0]})
        return 0
    started = oldest_kept[0][1] if oldest_kept else now
    return max(1, math.ceil(started + window_s - now))


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
