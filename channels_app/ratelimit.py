"""Rate limits shared by every process through Redis (per IP), and a small in-memory window
for limits that belong to one WebSocket connection.

The shared limit is a sliding log (a sorted set of hit times per name), not a fixed window:
a fixed window lets twice the limit through across a minute boundary.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time

import redis

from config.redis_clients import async_client

_PREFIX = "sb:rl:"
log = logging.getLogger(__name__)


async def aallow(name: str, *, limit: int, window_s: int = 60) -> bool:
    """Count one hit on `name`; False once more than `limit` hits fell in the last `window_s`."""
    return await aretry_after(name, limit=limit, window_s=window_s) == 0


# One round trip: drop hits older than the window, log this one, count; over the limit, the time
# of the oldest hit that must leave before one more fits. ARGV: now, window_s, limit, member.
_HIT = """
redis.call('zremrangebyscore', KEYS[1], 0, ARGV[1] - ARGV[2])
redis.call('zadd', KEYS[1], ARGV[1], ARGV[4])
redis.call('expire', KEYS[1], ARGV[2] + 1)
local count = redis.call('zcard', KEYS[1])
local limit = tonumber(ARGV[3])
if count <= limit then return false end
return redis.call('zrange', KEYS[1], count - limit, count - limit, 'withscores')[2] or ARGV[1]
"""
_hits = itertools.count()  # a hit's name in the log is its time, process and number there: unique


async def aretry_after(name: str, *, limit: int, window_s: int = 60) -> int:
    """Count one hit on `name`; 0 when it is within the limit, else the seconds until one more
    hit would be (what a 429's `Retry-After` says). Refused hits count too: hammering on waits longer."""
    key, now = _PREFIX + name, time.time()
    member = f"{now!r}:{os.getpid()}:{next(_hits)}"
    try:
        # The next hit fits once all but limit - 1 of the hits now counted have left the window.
        started = await async_client().eval(_HIT, 1, key, repr(now), window_s, limit, member)
    except redis.RedisError:
        # A limiter that cannot count lets the hit through: chat stays up while Redis is slow or
        # away, and the per-connection window still applies.
        log.warning("rate limiter unavailable", extra={"limit_name": name.split(":", 1)[0]})
        return 0
    if started is None:
        return 0
    return max(1, math.ceil(float(started) + window_s - now))


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
