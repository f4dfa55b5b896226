"""Consumer dispatch without Channels' database check before every message.

Channels' `AsyncConsumer.dispatch` closes stale database connections before each message it
handles: a hop to a thread and back, every time. A widget message's turn and a media stream's 50
frames a second reach the database only through `dialogue.db` and `database_sync_to_async`,
which look after their connections themselves, so for those messages the hop is wasted.
"""

from __future__ import annotations

from channels.consumer import get_handler_name


async def without_db_check(consumer, message: dict) -> None:
    handler = getattr(consumer, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']}")
    await handler(message)
