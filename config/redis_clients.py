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

# A burst of a thousand widget messages on one busy process held the 64 connections long enough
# (each turn's Redis calls wait on the event loop) that turns waiting over 5 s failed: a message
# lost (bench/chat_ws.py --burst). Waiting is what a burst should do; Redis takes thousands of
# connections.
MAX_CONNECTIONS = 256
WAIT_S = 30

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
        )
        client = _async_clients[loop] = aioredis.Redis(connection_pool=pool)
    return client
