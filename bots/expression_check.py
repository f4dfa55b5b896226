"""Syntax and name checks for branch conditions, used by validation only (never to evaluate).

The dialogue engine owns the expression language and evaluates it; this module checks the
same surface syntax (comparisons, and/or/not, literals, slot names, `in`, lists) by parsing it
with Python's `ast` in expression mode and refusing every construct outside that subset, so
nothing here ever runs user text.
"""

from __future__ import annotations

import ast

_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
)


class ExpressionError(ValueError):
    pass


def names(text: str) -> set[str]:
    """The slot names a condition reads. Raises ExpressionError with a plain-words reason."""
    if not text.strip():
        raise ExpressionError("it is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"unexpected text near column {exc.offset or 1}")
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"“{ast.get_source_segment(text.strip(), node) or type(node).__name__}” is not allowed"
            )
        if isinstance(node, ast.Name) and node.id not in ("true", "false", "none", "null"):
            found.add(node.id)
    return found
