"""The local intent classifier: trained from examples, with an out-of-scope threshold."""

from __future__ import annotations

import pytest

from bots.schema import IntentSpec
from dialogue import nlu

INTENTS = [
    IntentSpec(name="track_order", examples=["where is my order", "track my package", "has my parcel shipped"]),
    IntentSpec(name="refund", examples=["I want my money back", "refund please", "how do I get a refund"]),
    IntentSpec(name="opening_hours", examples=["when are you open", "opening hours", "what time do you close"]),
]


def test_routes_paraphrases_and_refuses_out_of_scope():
    clf = nlu.load(nlu.train(INTENTS), threshold=0.45)
    assert clf.classify("where's my parcel?")[0] == "track_order"
    assert clf.classify("can I have a refund")[0] == "refund"
    assert clf.classify("what are your opening hours")[0] == "opening_hours"
    intent, confidence = clf.classify("tell me a joke about penguins")
    assert intent is None and 0 <= confidence <= 1


def test_single_intent_bot_does_not_match_everything():
    clf = nlu.load(nlu.train(INTENTS[:1]))
    assert clf.classify("track my order")[0] == "track_order"
    assert clf.classify("what is the weather like today")[0] is None


def test_empty_bot_never_matches():
    clf = nlu.load(nlu.train([]))
    assert clf.classify("anything") == (None, 0.0)


def test_tampered_model_is_refused():
    blob = bytearray(nlu.train(INTENTS))
    blob[-5] ^= 0xFF
    with pytest.raises(nlu.NluError, match="publish the bot again"):
        nlu.load(bytes(blob))
    with pytest.raises(nlu.NluError):
        nlu.load(b"not a model")
