"""What a conversation may leave in the contact's long-term memory: the answers to ask nodes
the builder marked `remember` (as said; `conversations.services.remember_contact` drops secrets)."""

from __future__ import annotations

from bots.schema import BotSnapshot


def memorable(snapshot: BotSnapshot, slots: dict) -> dict:
    names = {n.slot for f in snapshot.flows for n in f.graph.nodes if n.kind == "ask" and n.remember}
    return {k: v for k, v in slots.items() if k in names}
