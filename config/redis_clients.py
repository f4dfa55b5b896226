"""The process's Redis clients for session state, locks, breakers and rate limits.

A redis.asyncio connection belongs to the event loop that opened it, so there is one client per
loop (a server has one; tests and `async_to_sync` make more). Its pool blocks instead of
failing: a thousand conversations starting at once queue for a few dozen connections rather
than getting "Too many connections", which would leave turn locks unreleased.
"""

from __future__ import annotations

import asyncio
import weakref

import redis.asyncio as aioredis
from django.conf import settings
from redis.driver_info import DriverInfo

# A burst of a thousand widget messages on one busy process held the 64 connections long enough
# (each turn's Redis calls wait on the event loop) that turns waiting over 5 s failed: a message
# lost (bench/chat_ws.py --burst). Waiting is what a burst should do; Redis takes thousands of
# connections.
MAX_CONNECTIONS = 256
WAIT_S = 30
# What each new connection announces with CLIENT SETINFO, worked out once. Left to redis-py,
# every new connection looks its version up in the installed packages' metadata (~0.3 ms of CPU),
# which a burst pays once per connection it adds to the pool, up to MAX_CONNECTIONS.
DRIVER_INFO = DriverInfo()

_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def async_client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=MAX_CONNECTIONS,
            timeout=WAIT_S,
            # A Redis that stops answering fails the command (a turn ends with an apology, a
            # limiter lets the hit through) instead of leaving the task waiting for ever.
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
            driver_info=DRIVER_INFO,
        )
        client = _async_clients[loop] = aioredis.Redis(connection_pool=pool)
    return client
