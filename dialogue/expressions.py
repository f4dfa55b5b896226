"""The safe expression language of `branch` conditions — parsed and evaluated here, never `eval`.

    plan == "pro" and age >= 18
    intent in ["refund", "cancel"] or not email
    channel == "voice" and hour < 9

Grammar: `or`, `and`, `not`; comparisons `== != < <= > >= in` and `not in`; string, number,
`true`/`false`/`none` literals and `[lists]`; names (slots, plus `intent`, `confidence`,
`channel`, `hour`, `weekday`), with `slot.field` for dict slots; parentheses. An unknown name
is `none`, a comparison between mismatched types is false: a condition never crashes a turn.

`parse(expr)` raises `ExpressionError` with a message a builder can act on; the bot validator
calls it before publish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class ExpressionError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "none"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


@dataclass(frozen=True)
class Tok:
    kind: str  # number, string, op, name, kw, end
    value: str
    pos: int


def _tokenize(expr: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m:
            at = pos + len(expr[pos:]) - len(expr[pos:].lstrip())
            raise ExpressionError(f"Unexpected character “{expr[at]}” at position {at + 1}.")
        kind = m.lastgroup
        value, start = m.group(kind), m.start(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        tokens.append(Tok(kind, value, start))
        pos = m.end()
    tokens.append(Tok("end", "", len(expr)))
    return tokens


class _Parser:
    """Recursive descent to a tuple AST: ("or", a, b), ("cmp", op, a, b), ("name", [path]), ("lit", v)."""

    def __init__(self, expr: str):
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.i = 0

    def peek(self) -> Tok:
        return self.tokens[self.i]

    def take(self) -> Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value != value:
            found = f"“{tok.value}”" if tok.kind != "end" else "the end"
            raise ExpressionError(f"Expected “{value}” at position {tok.pos + 1}, found {found}.")

    def parse(self):
        if self.peek().kind == "end":
            raise ExpressionError("The condition is empty.")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"Unexpected “{tok.value}” at position {tok.pos + 1}; did you miss “and” / “or”?")
        return node

    def or_(self):
        node = self.and_()
        while self.peek().value == "or":
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.peek().value == "and":
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.peek().value == "not":
            self.take()
            return ("not", self.not_())
        return self.comparison()

    def comparison(self):
        left = self.atom()
        tok = self.peek()
        op = tok.value
        if op == "not" and self.tokens[self.i + 1].value == "in":
            self.take()
            op = "not in"
        elif op not in _COMPARE or tok.kind == "string":
            return left
        self.take()
        return ("cmp", op, left, self.atom())

    def atom(self):
        tok = self.take()
        if tok.kind == "number":
            return ("lit", float(tok.value) if "." in tok.value else int(tok.value))
        if tok.kind == "string":
            return ("lit", _unquote(tok.value))
        if tok.kind == "kw" and tok.value in ("true", "false", "none"):
            return ("lit", {"true": True, "false": False, "none": None}[tok.value])
        if tok.kind == "name":
            path = [tok.value]
            while self.peek().value == ".":
                self.take()
                part = self.take()
                if part.kind != "name":
                    raise ExpressionError(f"Expected a field name after “.” at position {part.pos + 1}.")
                path.append(part.value)
            return ("name", tuple(path))
        if tok.value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.value == "[":
            items = []
            if self.peek().value != "]":
                items.append(self.atom())
                while self.peek().value == ",":
                    self.take()
                    items.append(self.atom())
            self.expect("]")
            return ("list", tuple(items))
        found = f"“{tok.value}”" if tok.kind != "end" else "the end of the condition"
        raise ExpressionError(f"Expected a value or a slot name at position {tok.pos + 1}, found {found}.")


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


@lru_cache(maxsize=2048)
def parse(expr: str):
    """The AST of `expr`; raises `ExpressionError` saying what is wrong and where."""
    try:
        return _Parser(expr).parse()
    except RecursionError:
        raise ExpressionError("The condition is nested too deeply. Split it into simpler conditions.")


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "in":
            return a in b if b is not None else False
        if op == "not in":
            return a not in b if b is not None else True
        if a is None or b is None:
            return False
        a, b = _numeric(a, b)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _numeric(a, b):
    """Slots filled from text are strings; compare "18" >= 18 as numbers."""
    if isinstance(a, str) and isinstance(b, int | float):
        try:
            a = float(a)
        except ValueError:
            pass
    if isinstance(b, str) and isinstance(a, int | float):
        try:
            b = float(b)
        except ValueError:
            pass
    return a, b


def _value(node, context: dict):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "list":
        return [_value(n, context) for n in node[1]]
    if kind == "name":
        value: Any = context
        for part in node[1]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if kind == "not":
        return not _value(node[1], context)
    if kind == "and":
        return bool(_value(node[1], context)) and bool(_value(node[2], context))
    if kind == "or":
        return bool(_value(node[1], context)) or bool(_value(node[2], context))
    return _compare(node[1], _value(node[2], context), _value(node[3], context))


def evaluate(expr: str, context: dict) -> bool:
    return bool(_value(parse(expr), context))
