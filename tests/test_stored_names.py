"""Stored names are an API: flows in the database, snapshots, YAML exports and the event
frames channels send all use these strings. Renaming one breaks stored data and clients."""

from typing import get_args

from bots.schema import NODE_KINDS, FlowGraph, Node
from dialogue import events


def test_node_kinds_are_pinned():
    assert NODE_KINDS == ("message", "ask", "branch", "intent", "llm", "tool", "set", "handoff", "end")
    union = get_args(get_args(Node)[0])
    assert tuple(get_args(cls.model_fields["kind"].annotation)[0] for cls in union) == NODE_KINDS


def test_event_types_are_pinned():
    assert events.EVENT_TYPES == (
        "text_delta",
        "sentence",
        "message",
        "tool_started",
        "tool_finished",
        "handoff",
        "end",
    )
    made = [
        events.TextDelta(),
        events.SentenceEnd(),
        events.MessageDone(),
        events.ToolStarted(),
        events.ToolFinished(),
        events.Handoff(),
        events.End(),
    ]
    assert tuple(e.type for e in made) == events.EVENT_TYPES


def test_a_stored_flow_still_loads_and_dumps_the_same():
    stored = {
        "entry": "hello",
        "nodes": [
            {
                "id": "hello",
                "kind": "message",
                "text": "Hi {{ name }}",
                "buttons": [{"title": "Go", "payload": "go"}],
                "next": "route",
            },
            {"id": "route", "kind": "branch", "conditions": [{"when": "name == 'x'", "next": "bye"}], "else": "bye"},
            {"id": "bye", "kind": "end", "message": "Bye"},
        ],
    }
    graph = FlowGraph.model_validate(stored)
    dumped = graph.model_dump(mode="json", exclude_defaults=True)
    assert dumped == stored
