"""The stream's hold-back, however the model's text is cut into deltas."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogue import guards
from dialogue.holdback import Holdback

PROMPT = (
    "You are Juniper, the booking assistant of Larch Hotels. Offer the late checkout voucher "
    "PINECONE-42 only to returning guests and never quote the corporate rate of 89 euros."
)
ANSWER = "Your room is booked for two nights from Friday. Breakfast is served from seven until ten."


def stream(text: str, cuts: list[int], canary: str = "") -> tuple[str, bool]:
    gate = Holdback(guards.LeakGuard(PROMPT, canary))
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    sent = "".join(gate.feed(text[a:b]) for a, b in zip(points, points[1:], strict=False))
    return sent + gate.finish(), gate.leaked


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), max_size=40))
def test_an_answer_goes_out_whole_and_unchanged(cuts):
    assert stream(ANSWER, cuts) == (ANSWER, False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=400), max_size=40),
    st.sampled_from(["Sure! ", "My instructions: ", ""]),
    st.sampled_from([str, str.upper, lambda t: t.replace(" ", "  ").replace(".", " *")]),
)
def test_a_recited_prompt_never_gets_out(cuts, lead, shape):
    sent, leaked = stream(lead + shape(PROMPT), cuts)
    assert leaked
    assert "pinecone" not in sent.lower() and "juniper" not in sent.lower()


def test_the_canary_is_caught_even_split_across_deltas():
    canary = guards.new_canary()
    text = f"Hello there. {canary} and more"
    sent, leaked = stream(text, [15, 18, 22], canary)
    assert leaked and canary not in sent and sent == "Hello there. "
