"""Short-term session state: where the conversation is in its flows, its slots, recent turns.

Kept in Redis under `sb:session:<conversation id>` as JSON encrypted with
`FIELD_ENCRYPTION_KEY` (slots hold what people typed, raw, for the flow's tools; history and
summary what they said), expiring after the bot's `session_ttl_s` of silence and deleted with
the conversation's data (`privacy.services.erase_contact`). Redis clients are per event loop (a client's connections belong
to the loop that opened them).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import asdict, dataclass, field

import orjson
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from config.redis_clients import async_client as redis_client

log = logging.getLogger(__name__)


@dataclass
class SessionState:
    flow: str | None = None  # flow whose `node` waits for the user's answer
    node: str | None = None
    llm_flow: str | None = None  # the llm node in control between flows ("flows hand back to the LLM")
    llm_node: str | None = None
    slots: dict = field(default_factory=dict)
    retries: int = 0  # failed answers to the current ask node
    history: list[dict] = field(default_factory=list)  # [{"role": "user"|"assistant", "content": ...}]
    summary: str = ""  # of the turns that slid out of the window
    turns: int = 0
    low_confidence_streak: int = 0
    tool_failures: int = 0
    status: str = "active"  # active, handed_off, ended
    memory: dict = field(default_factory=dict)  # long-term facts about the contact, loaded at start
    started: bool = False

    def to_json(self) -> str:
        """The state as stored: its JSON, encrypted."""
        try:
            # orjson writes a dataclass as `asdict` + `json` would, ~100 times faster (every turn).
            body = orjson.dumps(self)
        except TypeError:  # what only `json` takes: a number answer past 64 bits, a key not a string
            body = json.dumps(asdict(self)).encode()
        return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(body).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionState:
        raw = raw.encode() if isinstance(raw, str) else raw
        if raw.startswith(b"{"):  # stored before states were encrypted
            data = json.loads(raw)
        else:
            try:
                data = json.loads(_fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(raw))  # big integers stay exact
            except InvalidToken:
                log.warning("session state unreadable (FIELD_ENCRYPTION_KEY changed?): starting afresh")
                data = {}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@functools.cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def key(conversation_id: int) -> str:
    return f"sb:session:{conversation_id}"


async def load(conversation_id: int) -> SessionState | None:
    raw = await redis_client().get(key(conversation_id))
    return SessionState.from_json(raw) if raw else None


async def save(conversation_id: int, state: SessionState, ttl_s: int | None) -> None:
    """Store the state; `ttl_s=None` keeps the expiry it already has."""
    if ttl_s is None:
        await redis_client().set(key(conversation_id), state.to_json(), keepttl=True)
    else:
        await redis_client().set(key(conversation_id), state.to_json(), ex=max(ttl_s, 1))


async def clear(conversation_id: int) -> None:
    await redis_client().delete(key(conversation_id))
