"""A per-model circuit breaker whose state every process shares through Redis.

closed --N failures in a row--> open --cool-down--> half-open: one trial request (a Redis
`SET NX` decides which process makes it) --ok--> closed, --fails--> open again.
While a model's breaker is open the gateway skips it at once instead of waiting on timeouts.
"""

from __future__ import annotations

import time

from django.conf import settings

from dialogue.state import redis_client


def _keys(model: str) -> tuple[str, str, str]:
    base = f"sb:breaker:{model}"
    return f"{base}:fails", f"{base}:open_until", f"{base}:probe"


async def state(model: str) -> str:
    _, open_key, _ = _keys(model)
    open_until = await redis_client().get(open_key)
    if open_until is None:
        return "closed"
    return "open" if time.time() < float(open_until) else "half_open"


async def allow(model: str) -> bool:
    """May a request go to `model` now? In half-open, only the one process that wins the probe."""
    current = await state(model)
    if current == "closed":
        return True
    if current == "open":
        return False
    _, _, probe_key = _keys(model)
    return bool(await redis_client().set(probe_key, "1", nx=True, ex=max(settings.LLM_BREAKER_COOLDOWN_S, 1)))


async def record_success(model: str) -> None:
    await redis_client().delete(*_keys(model))


async def record_failure(model: str) -> None:
    fails_key, open_key, probe_key = _keys(model)
    r = redis_client()
    async with r.pipeline(transaction=True) as pipe:
        pipe.incr(fails_key)
        pipe.expire(fails_key, 600)
        pipe.get(probe_key)
        fails, _, probing = await pipe.execute()
    if probing or int(fails) >= settings.LLM_BREAKER_FAILURES:
        async with r.pipeline(transaction=True) as pipe:
            pipe.set(open_key, str(time.time() + settings.LLM_BREAKER_COOLDOWN_S), ex=3600)
            pipe.delete(probe_key)
            await pipe.execute()
