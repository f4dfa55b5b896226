"""The tokens a turn draws (its lock's, its prompt's canary and fence) never repeat, even across
web processes forked from one parent: two turns holding the same lock token would both
believe they own a conversation."""

from __future__ import annotations

import multiprocessing
import re

from dialogue import randomness


def _draw(queue) -> None:
    queue.put([randomness.token_hex(8) for _ in range(100)])


def test_tokens_are_hex_of_the_asked_length_and_never_repeat():
    tokens = [randomness.token_hex(8) for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in tokens)
    assert len(set(tokens)) == len(tokens)


def test_processes_forked_after_a_draw_draw_different_tokens():
    randomness.token_hex(8)  # the generator is seeded in the parent before the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_draw, args=(queue,)) for _ in range(3)]
    for child in children:
        child.start()
    drawn = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    parent = [randomness.token_hex(8) for _ in range(100)]
    every = [t for batch in [*drawn, parent] for t in batch]
    assert len(set(every)) == len(every)
