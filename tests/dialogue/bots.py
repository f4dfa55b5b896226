"""Inline YAML bots for the engine tests, and a helper that runs the pure core."""

from __future__ import annotations

import yaml

from bots.schema import BotSnapshot
from dialogue.engine import Turn
from dialogue.events import Inbound
from dialogue.runtime import Runtime
from dialogue.state import SessionState


def bot(text: str) -> BotSnapshot:
    data = yaml.safe_load(text)
    data.setdefault("bot_id", 1)
    data.setdefault("name", "Test bot")
    data.setdefault("slug", "test-bot")
    return BotSnapshot.model_validate(data)


class Chat:
    """A conversation with the pure engine: no database, no Redis."""

    def __init__(self, snapshot: BotSnapshot, *, mode: str = "chat", channel: str = "web"):
        self.snapshot = snapshot
        self.state = SessionState()
        self.mode = mode
        self.channel = channel
        self.last: Turn | None = None

    async def send(self, inbound: Inbound | str) -> list:
        if isinstance(inbound, str):
            inbound = Inbound(kind="text", text=inbound)
        self.last = Turn(
            self.snapshot, self.state, inbound, Runtime(self.snapshot, channel=self.channel), mode=self.mode
        )
        return [event async for event in self.last.run()]

    async def say(self, text: str) -> str:
        """The bot's reply texts to `text`, joined."""
        return await self.say_inbound(Inbound(kind="text", text=text))

    async def say_inbound(self, inbound: Inbound) -> str:
        events = await self.send(inbound)
        return " | ".join(e.text for e in events if e.type == "message")


ORDER_BOT = """
greeting: Hi! How can I help?
intents:
  - {name: track_order, examples: [where is my order, track my package, has my parcel shipped, order status]}
  - {name: refund, examples: [I want my money back, refund please, how do I get a refund]}
flows:
  - name: main
    is_entry: true
    graph:
      entry: route
      nodes:
        - id: route
          kind: intent
          routes: [{intent: track_order, next: ask_email}, {intent: refund, next: refund_msg}]
          fallback: dunno
        - {id: dunno, kind: message, text: "I can track orders and handle refunds."}
        - {id: refund_msg, kind: message, text: "Refunds take 5 days."}
        - id: ask_email
          kind: ask
          slot: email
          type: email
          prompt: "What's the email on the order?"
          retries: 1
          next: ask_plan
          on_failure: give_up
        - {id: give_up, kind: message, text: "Let's try again later."}
        - id: ask_plan
          kind: ask
          slot: plan
          type: choice
          choices: [basic, pro]
          prompt: "Which plan are you on?"
          next: check
        - id: check
          kind: branch
          conditions: [{when: 'plan == "pro" and email != none', next: vip}]
          else: normal
        - {id: vip, kind: set, values: {priority: "high"}, next: vip_msg}
        - {id: vip_msg, kind: message, text: "Priority {{ priority }} for {{ email }}!", next: bye}
        - {id: normal, kind: message, text: "We'll email {{ email }}.", next: bye}
        - {id: bye, kind: end, message: "Goodbye!"}
"""
