"""Bot test cases: the stored shape of their steps and the checks each expectation makes.

A test case is a list of steps; each step is what the user says and what must hold after the
bot's turn. These field names are stored in `BotTestCase.steps`: never rename them casually.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expect(_Strict):
    flow: str | None = None  # the flow the turn ended in
    node: str | None = None  # the node the turn ended on
    slots: dict[str, Any] = Field(default_factory=dict)  # slot -> value after the turn
    contains: list[str] = Field(default_factory=list)  # the reply contains each (case-insensitive)
    not_contains: list[str] = Field(default_factory=list)
    handoff: bool | None = None  # True: the turn hands off; False: it must not; None: either


class Step(_Strict):
    user: str = Field(min_length=1, max_length=2000)
    expect: Expect = Field(default_factory=Expect)


class Steps(RootModel[list[Step]]):
    root: list[Step] = Field(min_length=1, max_length=100)


@dataclass
class TurnOutcome:
    """What one turn did, as far as expectations can see."""

    text: str = ""
    flow: str | None = None
    node: str | None = None
    slots: dict = field(default_factory=dict)
    handoff: bool = False


def _flow(want, got: TurnOutcome):
    if want is not None and got.flow != want:
        return f"expected to be in flow “{want}”, was in “{got.flow}”"


def _node(want, got: TurnOutcome):
    if want is not None and got.node != want:
        return f"expected to reach step “{want}”, reached “{got.node}”"


def _slots(want: dict, got: TurnOutcome):
    wrong = [
        f"slot “{name}” should be {value!r}, was {got.slots.get(name)!r}"
        for name, value in want.items()
        if got.slots.get(name) != value
    ]
    return "; ".join(wrong) or None


def _contains(want: list[str], got: TurnOutcome):
    missing = [w for w in want if w.lower() not in got.text.lower()]
    if missing:
        return f"the reply should contain {', '.join(map(repr, missing))}; it was {got.text!r}"


def _not_contains(want: list[str], got: TurnOutcome):
    present = [w for w in want if w.lower() in got.text.lower()]
    if present:
        return f"the reply should not contain {', '.join(map(repr, present))}; it was {got.text!r}"


def _handoff(want, got: TurnOutcome):
    if want is not None and got.handoff != want:
        return "expected a handoff to a person, there was none" if want else "expected no handoff, the bot handed off"


# One check per expectation field, keyed by the field's stored name.
CHECKS: dict[str, Callable[[Any, TurnOutcome], str | None]] = {
    "flow": _flow,
    "node": _node,
    "slots": _slots,
    "contains": _contains,
    "not_contains": _not_contains,
    "handoff": _handoff,
}


def check(expect: Expect, outcome: TurnOutcome) -> list[str]:
    """Every expectation of a step that the turn's outcome does not meet, in plain words."""
    failures = []
    for name, fn in CHECKS.items():
        message = fn(getattr(expect, name), outcome)
        if message:
            failures.append(message)
    return failures


def expect_from(outcome: TurnOutcome) -> Expect:
    """What a console turn did, as the expectations of a new test case step."""
    return Expect(flow=outcome.flow, node=outcome.node, slots=dict(outcome.slots), handoff=outcome.handoff)
