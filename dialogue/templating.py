"""Sandboxed Jinja2 for everything a builder writes: messages, prompts, tool URLs and bodies.

The sandbox refuses attribute access to internals (`__class__`, `mro`...), so a template can read
slots but never reach Python objects. On top of it every render has budgets, so a template
cannot exhaust memory or hold a worker: strings and lists a template builds are capped at
`MAX_SIZE` (`"x" * 10**10`, `"a".center(10**9)`, `"%999999999s" % 1` fail before allocating),
numbers at `MAX_BITS`, `range()` at `MAX_RANGE`, all `{% for %}` loops of a render together at
`MAX_ITERATIONS`, the output at `MAX_SIZE`, and the render at `TIME_LIMIT_S`. Async callers use
`render_async`, which renders on a worker thread so the event loop never waits on a template.

A broken template renders as its source instead of failing the turn (the bot validator reports
syntax errors before publish); `render_strict` raises `TemplateLimitError` instead, for tool
calls, whose result then says what went wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from contextvars import ContextVar
from functools import lru_cache, wraps
from numbers import Number
from urllib.parse import quote

from jinja2 import TemplateError, TemplateRuntimeError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

logger = logging.getLogger(__name__)

MAX_SIZE = 100_000  # characters of a string or items of a list a template may build or output
MAX_BITS = 4096  # size of the largest number a template may compute
MAX_RANGE = 10_000
MAX_ITERATIONS = 20_000
TIME_LIMIT_S = 0.5

# A `%` width or precision this long would build a string past MAX_SIZE; `*` takes it from an argument.
# A `{:{w}}` field takes its width from an argument, so it is refused too.
_BIG_FORMAT_WIDTH = re.compile(
    r"%[-#0 +]*(\*|\d{6,})|%[-#0 +]*\d*\.(\*|\d{6,})|\{[^{}]*:[^{}]*\d{6,}[^{}]*\}|\{[^{}]*:[^{}]*\{"
)
_SEQUENCES = (str, list, tuple)


# What a template's own mistakes raise while it runs (`{% for x in 3 %}`, `{{ 1 / 0 }}`): the
# template's problem, reported as such, never the turn's crash.
_RUNTIME_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError)


class TemplateLimitError(TemplateError):
    """A template went past one of its budgets; the message says which and what to do."""


class _Budget:
    def __init__(self):
        self.deadline = time.monotonic() + TIME_LIMIT_S
        self.iterations = 0

    def step(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitError(f"The template's loops ran more than {MAX_ITERATIONS:,} times in all.")
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"The template took longer than {TIME_LIMIT_S:g} seconds to fill in.")


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _current_budget() -> _Budget:
    budget = _budget.get()
    if budget is None:  # rendered outside `render` (e.g. a compiled expression): a fresh budget
        budget = _Budget()
        _budget.set(budget)
    return budget


def _too_big(what: str) -> TemplateLimitError:
    return TemplateLimitError(f"The template builds {what} larger than the limit of {MAX_SIZE:,}. Make it smaller.")


def _check_size(value):
    if isinstance(value, _SEQUENCES) and len(value) > MAX_SIZE:
        raise _too_big("a text or list")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise TemplateLimitError(f"The template computes a number larger than {MAX_BITS} bits.")
    return value


def _check_widths(args, kwargs) -> None:
    """A width or count past the limit is refused before the call builds its text."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
            raise TemplateLimitError(f"The template asks for a width of {value}; the limit is {MAX_SIZE:,}.")


def _check_format(text) -> None:
    if isinstance(text, str) and _BIG_FORMAT_WIDTH.search(text):
        raise _too_big("a formatted text")


def _check_replace(text, old, new, count=-1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if count is None or count < 0 else min(count, text.count(old))
        if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
            raise _too_big("a replaced text")


def _check_join(separator, items) -> list:
    items = list(items)
    if isinstance(separator, str) and len(separator) * max(len(items) - 1, 0) > MAX_SIZE:
        raise _too_big("a joined text")
    return items


# str methods whose arguments decide how big their result is.
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _check_call(obj, args, kwargs) -> tuple:
    name, owner = getattr(obj, "__name__", ""), getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return args
    if name in _WIDTH_METHODS:
        _check_widths(args, kwargs)
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, *args[:3])
    elif name == "join" and args:
        return (_check_join(owner, args[0]), *args[1:])
    return args


def _check_binop(operator: str, left, right) -> None:
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(count, int) and len(seq) * max(count, 0) > MAX_SIZE:
                raise _too_big("a repeated text or list")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_BITS:
            raise TemplateLimitError(f"The template computes a number larger than {MAX_BITS} bits.")
    elif operator == "**":
        if isinstance(left, Number) and isinstance(right, Number) and abs(left) > 1 and right > 0:
            if float(right) * math.log2(abs(float(left))) > MAX_BITS:
                raise TemplateLimitError(f"The template computes a number larger than {MAX_BITS} bits.")
    elif operator == "%" and isinstance(left, str) and _BIG_FORMAT_WIDTH.search(left):
        raise _too_big("a formatted text")
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        if len(left) + len(right) > MAX_SIZE:
            raise _too_big("a joined text or list")


class _Env(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context, operator, left, right):
        _check_binop(operator, left, right)
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        args = _check_call(__obj, args, kwargs)
        _current_budget().step()
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value):
        # Checked when `.format` is looked up, before a width like {:>999999999} builds anything.
        if getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(getattr(value, "__self__", None))
        return super().wrap_str_format(value)


def _sized_filter(fn, check):
    """A filter whose parameters decide its result's size: `check(value, *params)` runs first."""

    @wraps(fn)
    def guarded(*args, **kwargs):
        # Filters marked pass_context / pass_environment / pass_eval_context get that object first.
        start = 1 if getattr(fn, "jinja_pass_arg", None) else 0
        checked = check(*args[start:], **kwargs)
        if checked is not None:
            args = (*args[:start], checked, *args[start + 1 :])
        return _check_size(fn(*args, **kwargs))

    return guarded


def _filter_join(value, d="", attribute=None):
    return _check_join(d, value)


_SIZED_FILTERS = {
    "center": lambda value, width=80: _check_widths((width,), {}),
    "indent": lambda value, width=4, *args, **kwargs: _check_widths((width,) if isinstance(width, int) else (), {}),
    "format": lambda value, *args, **kwargs: _check_format(value),
    "replace": lambda value, old, new, count=None: _check_replace(value, old, new, count),
    "join": _filter_join,
}


def _loop(iterable):
    budget = _current_budget()
    for item in iterable:
        budget.step()
        yield item


def _range(*args):
    bounds = range(*args)
    try:
        count = len(bounds)
    except OverflowError:
        count = math.inf
    if count > MAX_RANGE:
        raise TemplateLimitError(f"range() in a template may count {MAX_RANGE:,} numbers at most, not {count:,}.")
    return bounds


_LOOP_FILTER = "sb_counted_loop"


class _CountLoops(NodeTransformer):
    """Every `{% for %}` iterates through `_loop`, which counts against the render's budget."""

    def visit_For(self, node: nodes.For):
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node


_env = _Env(autoescape=False)
for _name, _check in _SIZED_FILTERS.items():
    _env.filters[_name] = _sized_filter(_env.filters[_name], _check)
_env.filters["urlencode_component"] = lambda v: quote(str(v), safe="")
_env.filters["tojson"] = lambda v: json.dumps(v)
_env.filters[_LOOP_FILTER] = _loop
_env.globals["range"] = _range


def parse(source: str):
    """The template's syntax tree, for analysis (the names it reads). Raises `TemplateSyntaxError`."""
    return _env.parse(source)


@lru_cache(maxsize=4096)
def _compile(source: str):
    return _env.from_string(_CountLoops().visit(_env.parse(source)))


@lru_cache(maxsize=1024)
def _compile_expression(source: str):
    return _env.compile_expression(source)


def render_strict(source: str, context: dict) -> str:
    """Fill in a template; raises `TemplateError` (`TemplateLimitError` past a budget)."""
    if "{" not in source:
        return source  # most texts are plain: skip Jinja entirely
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        size = 0
        for piece in _compile(source).generate(**context):
            size += len(piece)
            if size > MAX_SIZE:
                raise _too_big("an output")
            out.append(piece)
        return "".join(out)
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise TemplateLimitError(f"The template went past what it may compute ({type(exc).__name__}).")
    except _RUNTIME_ERRORS as exc:
        raise TemplateRuntimeError(f"The template failed while being filled in ({type(exc).__name__}: {exc}).")
    finally:
        _budget.reset(token)


def evaluate_strict(expression: str, context: dict):
    """The value of one expression (`order_id`, `qty * 2`), as a Python value, under the same budgets."""
    token = _budget.set(_Budget())
    try:
        return _check_size(_compile_expression(expression)(**context))
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise TemplateLimitError(f"The template went past what it may compute ({type(exc).__name__}).")
    except _RUNTIME_ERRORS as exc:
        raise TemplateRuntimeError(f"The template failed while being filled in ({type(exc).__name__}: {exc}).")
    finally:
        _budget.reset(token)


def render(source: str, context: dict) -> str:
    try:
        return render_strict(source, context)
    except TemplateLimitError as exc:
        logger.warning("template refused: %s", exc)
        return source
    except TemplateError:
        return source


async def render_async(source: str, context: dict) -> str:
    """`render` on a worker thread: a heavy template costs that thread, never the event loop."""
    if "{" not in source:
        return source
    return await asyncio.to_thread(render, source, context)


def check(source: str) -> str | None:
    """The syntax error of a template, in words, or None."""
    try:
        _compile(source)
    except TemplateError as exc:
        return f"Template error: {exc}"
    return None
