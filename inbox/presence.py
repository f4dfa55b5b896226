"""Presence follows the inbox page: an agent whose last inbox socket closes (page closed, laptop
asleep) is set away, so round robin stops giving them chats nobody would see; when a page of
theirs connects again, what was set away this way comes back online. Presence an agent chose
themselves is left alone.

Open sockets are counted per agent in Redis, so every web process sees the same count.
"""

from __future__ import annotations

from config.redis_clients import async_client
from dialogue.db import db
from inbox import services
from inbox.models import AgentStatus

TTL_S = 24 * 3600  # a process that died with sockets open leaves its entries for a day at most


def _sockets(user_id: int) -> str:
    return f"sb:inbox:sockets:{user_id}"


def _auto_away(user_id: int) -> str:
    return f"sb:inbox:auto-away:{user_id}"


async def connected(user, channel_name: str) -> None:
    redis = async_client()
    await redis.sadd(_sockets(user.pk), channel_name)
    await redis.expire(_sockets(user.pk), TTL_S)
    workspaces = await redis.smembers(_auto_away(user.pk))
    if workspaces:
        await redis.delete(_auto_away(user.pk))
        await db(_set)(user, [int(w) for w in workspaces], AgentStatus.Presence.AWAY, AgentStatus.Presence.ONLINE)


async def disconnected(user, channel_name: str) -> None:
    redis = async_client()
    await redis.srem(_sockets(user.pk), channel_name)
    if await redis.scard(_sockets(user.pk)):
        return  # another tab or device is still open
    away = await db(_set)(user, None, AgentStatus.Presence.ONLINE, AgentStatus.Presence.AWAY)
    if away:
        await redis.sadd(_auto_away(user.pk), *away)
        await redis.expire(_auto_away(user.pk), TTL_S)


def _set(user, workspace_ids: list[int] | None, current: str, new: str) -> list[int]:
    """Move the agent's presence from `current` to `new` (in these workspaces, or all); the workspaces changed."""
    statuses = AgentStatus.objects.filter(user=user, presence=current)
    if workspace_ids is not None:
        statuses = statuses.filter(workspace_id__in=workspace_ids)
    changed = list(statuses.values_list("workspace_id", flat=True))
    for workspace_id in changed:
        services.set_presence(agent=user, workspace_id=workspace_id, presence=new)
    return changed
