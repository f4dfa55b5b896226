"""Which slots a branch condition reads, for validation. The language itself (its parser and
evaluator) is `dialogue.expressions`; this only walks the tree it parses."""

from __future__ import annotations

from dialogue.expressions import ExpressionError, parse

__all__ = ["ExpressionError", "names"]


def names(text: str) -> set[str]:
    """The top-level names a condition reads (`order.status` reads `order`). Raises ExpressionError."""
    found: set[str] = set()
    _walk(parse(text), found)
    return found


def _walk(node, found: set[str]) -> None:
    kind = node[0]
    if kind == "name":
        found.add(node[1][0])
    elif kind == "list":
        for item in node[1]:
            _walk(item, found)
    elif kind == "cmp":
        _walk(node[2], found)
        _walk(node[3], found)
    elif kind != "lit":
        for child in node[1:]:
            _walk(child, found)
