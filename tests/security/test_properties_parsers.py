"""Property tests for the parsers that take text from people: slot answers (end users), branch
conditions and templates (builders), tool bodies and host lists. Whatever the text, each one
either answers or refuses with its own error — never another exception — and the outputs keep
their promises (a body stays JSON with the value inside its string, a template stays in budget)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateError

from bots.schema import AskNode
from dialogue import expressions, netguard, slots, templating
from dialogue.body import BodyError, body_problem, fill_body

settings.register_profile("switchboard", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("switchboard")

SLOT_TYPES = ["text", "number", "email", "phone", "date", "choice", "digits", "regex"]
answers = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 .,-+#*", max_size=40),
    st.integers(min_value=4000, max_value=5000).map(lambda n: "7" * n),  # past Python's int-from-text limit
    st.sampled_from(["today", "31/02/2024", "2024-13-01", "a@b.co", "+351 912 345 678", "Yes.", "\u0000", "🙂"]),
)


@given(kind=st.sampled_from(SLOT_TYPES), answer=answers)
def test_a_slot_answer_is_a_value_or_a_hint_to_try_again(kind, answer):
    node = AskNode(id="q", kind="ask", slot="s", prompt="?", type=kind, choices=["Yes", "No"], pattern=r"[A-Z]{2}\d{4}")
    try:
        value = slots.validate(node, answer)
    except slots.Invalid as exc:
        assert str(exc)  # the reprompt's hint
        return
    assert value is not None
    if kind in ("text", "regex", "digits", "email"):
        assert isinstance(value, str) and len(value) <= len(answer)


conditions = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            [
                "slots.age",
                ">=",
                "18",
                "and",
                "or",
                "not",
                "(",
                ")",
                "==",
                '"yes"',
                "in",
                "[",
                "]",
                ",",
                "channel",
                "1.5",
            ]
        ),
        max_size=30,
    ).map(" ".join),
    st.integers(min_value=1, max_value=3000).map(lambda n: "(" * n + "x" + ")" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: "not " * n + "x"),
)
contexts = st.dictionaries(
    st.sampled_from(["slots", "age", "x", "channel"]),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=10,
    ),
)


@given(condition=conditions, context=contexts)
def test_a_condition_parses_or_says_what_is_wrong_and_evaluates_to_true_or_false(condition, context):
    try:
        expressions.parse(condition)
    except expressions.ExpressionError as exc:
        assert str(exc)
        return
    assert expressions.evaluate(condition, context) in (True, False)


pieces = st.sampled_from(
    [
        "name",
        "slots",
        "10",
        "10**10",
        "9",
        "'x'",
        '"%999999999s"',
        "range(10**9)",
        "[1, 2]",
        "(1, 2)",
        "*",
        "**",
        "+",
        "%",
        "~",
        "|list",
        "|join('y' * 99999)",
        "|center(10**9)",
        "|upper",
        ".center(99999999)",
        ".__class__",
        ".mro()",
        "(",
        ")",
        "|format(1)",
        "'{:>99999999}'.format(1)",
        " if true else ",
        "-1",
    ]
)
expressions_ = st.lists(pieces, min_size=1, max_size=8).map("".join)
templates = st.one_of(
    st.text(max_size=100),
    expressions_.map(lambda e: "{{ " + e + " }}"),
    st.tuples(expressions_, expressions_).map(
        lambda p: "{% for a in " + p[0] + " %}{% for b in " + p[1] + " %}{{ a }}{% endfor %}{% endfor %}"
    ),
)


@given(source=templates, name=st.text(max_size=50))
def test_a_template_renders_within_its_budget_or_refuses(source, name):
    try:
        out = templating.render_strict(source, {"name": name, "slots": {"name": name}})
    except TemplateError as exc:
        assert str(exc) or exc.__class__.__name__
        return
    assert len(out) <= templating.MAX_SIZE
    assert "<class" not in out or "<class" in source


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(note=st.text(), extra=values)
def test_a_body_keeps_its_shape_whatever_the_values(note, extra):
    body = fill_body('{"note": "{{ note }}", "extra": {{ extra }}, "admin": false}', {"note": note, "extra": extra})
    assert json.loads(body) == {"note": note, "extra": extra, "admin": False}


@given(source=st.text(max_size=300))
def test_any_body_template_is_accepted_or_explained(source):
    problem = body_problem(source)
    assert problem is None or isinstance(problem, str)
    if problem is None and source.strip():
        try:
            json.loads(fill_body(source, {}))
        except (BodyError, TemplateError):
            pass


@given(host=st.text(max_size=80), target=st.text(max_size=80))
def test_host_patterns_are_checked_without_surprises(host, target):
    problem = netguard.host_pattern_problem(host)
    assert problem is None or host in problem
    assert netguard.host_matches(target, [host]) in (True, False)
