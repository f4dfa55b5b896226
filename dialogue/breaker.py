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


def reading_keys(models) -> list[str]:
    """The keys whose values, read along with other work (a turn reads them with its lock),
    make a `reading` that spares `allow` its own round trip."""
    return [key for model in models for key in _keys(model)[:2]]


def reading(models, values: list) -> dict[str, tuple]:
    """model → (fails, open_until) as read from `reading_keys(models)`."""
    return {model: (values[2 * i], values[2 * i + 1]) for i, model in enumerate(models)}


async def _read(model: str, known: dict | None = None) -> tuple[str, bool]:
    """(state, clean): clean = no failure on record either, so a success has nothing to reset.
    `known`: a reading taken moments ago; each model's is used once, then Redis is asked again."""
    if known and model in known:
        fails, open_until = known.pop(model)
    else:
        fails_key, open_key, _ = _keys(model)
        fails, open_until = await redis_client().mget(fails_key, open_key)
    if open_until is None:
        return "closed", fails is None
    return ("open" if time.time() < float(open_until) else "half_open"), False


async def state(model: str) -> str:
    return (await _read(model))[0]


class Permit:
    """A request may go to the model; `clean` when the breaker had nothing on record."""

    def __init__(self, clean: bool):
        self.clean = clean


async def allow(model: str, known: dict | None = None) -> Permit | None:
    """May a request go to `model` now? In half-open, only the one process that wins the probe."""
    current, clean = await _read(model, known)
    if current == "closed":
        return Permit(clean)
    if current == "open":
        return None
    _, _, probe_key = _keys(model)
    won = await redis_client().set(probe_key, "1", nx=True, ex=max(settings.LLM_BREAKER_COOLDOWN_S, 1))
    return Permit(False) if won else None


async def record_success(model: str, permit: Permit | None = None) -> None:
    # A healthy model's every call would otherwise cost a round trip that deletes nothing. A
    # failure recorded elsewhere since this request's check is reset by the next success that sees it.
    if permit is None or not permit.clean:
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
