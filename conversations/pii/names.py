"""Person names. The fast pass catches the names people introduce ("my name is …", "this is
…", "Mr …", "Name: …"); the deep pass (`ner.py`, a local statistical model, off the hot path)
finds the rest."""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_CHAT_WORDS = frozenset(
    """back later today tomorrow tonight please thanks thank sorry calling looking trying interested here
    fine good ok okay ready done new happy sure glad able unable going coming waiting writing having just
    still really very so not also about from with your a an the my our customer calling regarding
    following hoping wondering after before since until while because following afraid confused
    frustrated annoyed upset excited pleased ringing texting contacting checking following there speaking""".split()
)
_STOP = ENGLISH_STOP_WORDS | _CHAT_WORDS
_NAME = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]*"
_TITLE_WORDS = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof"})
# "Miss" only capitalised: "I miss Paris" is a verb.
_TITLE = "(?:" + "|".join("(?-i:Miss)" if t == "miss" else t for t in sorted(_TITLE_WORDS)) + r")\.?"
# "my husband John Smith set up the account"
_RELATIVE = (
    r"(?:husband|wife|partner|son|daughter|mother|mom|mum|father|dad|brother|sister|friend|colleague|boss|manager)"
)
# Introductions where the next words are a name whatever their case.
INTRO = re.compile(
    rf"\b(?:my\s+(?:full\s+|first\s+|last\s+|sur)?name\s+is|my\s+name'?s|name'?s|name\s*[:=]|"
    rf"i\s+am\s+called|call\s+me|you\s+can\s+call\s+me|under\s+the\s+name(?:\s+of)?|it'?s\s+for|"
    rf"account\s+holder\s+is|this\s+is|i\s+am|i'?m|it'?s|speaking\s+with|talking\s+to|ask\s+for|"
    rf"(?:spoke|speak|spoken|talked|talk|chatted)\s+(?:with|to)|put\s+me\s+through\s+to|transfer\s+me\s+to|"
    rf"attention\s+of|attn:?|ask\s+for|ask|dear|contact\s*:|signed|regards,?|cheers,?|thanks,?|sincerely,?|"
    rf"my\s+{_RELATIVE}|"
    rf"{_TITLE})"
    rf"\s+((?:{_TITLE}\s+)?(?:{_NAME})(?:\s+{_NAME}){{0,2}})",
    re.IGNORECASE,
)
# After these only capitalised words count ("this is urgent" is not a name, "this is Maria" is).
_CASE_SENSITIVE = re.compile(
    rf"^(?:this|i|i'?m|it'?s|speak|spoke|talk|chat|put|transfer|attention|attn|ask|dear|contact|signed|regards|cheers|"
    rf"thanks|sincerely|"
    rf"my\s+{_RELATIVE})",
    re.I,
)
_LED_BY_TITLE = re.compile(rf"{_TITLE}\s", re.I)
# "Maria Lopez here, …" at the start of a message.
SIGN_ON = re.compile(r"^\s*(?:hi,?\s+|hello,?\s+)?((?-i:[A-Z][a-z'’-]+\s+[A-Z][A-Za-z'’-]+))\s+here\b")


def names(text: str):
    for m in SIGN_ON.finditer(text):
        if m.group(1).split()[0].lower() not in _STOP:
            yield m.start(1), m.end(1), "NAME"
    pos = 0
    # Each search starts where the last name ended or, when an introduction held none, right
    # after its phrase: "I'm speaking with Ms. Rivera" finds the name the first phrase missed.
    while m := INTRO.search(text, pos):
        pos = m.start(1)
        capitalised_only = None if _LED_BY_TITLE.match(m.group()) else _CASE_SENSITIVE.match(m.group()) is not None
        start = end = None
        for w in re.finditer(_NAME, m.group(1)):
            word = w.group()
            if start is None and word.lower() in _TITLE_WORDS:
                # "this is Dr. Emily Watson": the title stays, the name goes. After a title the name
                # may be lowercase ("it's mr smith"); a capitalised one ends at a lowercase word.
                capitalised_only = None
                continue
            if capitalised_only is None:
                capitalised_only = word[0].isupper()
            if word.lower().strip("'’-") in _STOP or (capitalised_only and not word[0].isupper()):
                break
            if start is None:
                start = m.start(1) + w.start()
            end = m.start(1) + w.end()
        if start is not None:
            pos = end
            yield start, end, "NAME"


def lowercase_candidates(text: str):
    """Lowercase words right after an introduction ("hi its maria lopez"): names only if the
    named-entity model agrees once they are capitalised (see `ner.py`)."""
    for m in INTRO.finditer(text):
        for w in re.finditer(_NAME, m.group(1)):
            if w.group().lower() in _STOP or not w.group()[0].islower():
                break
            yield m.start(1) + w.start()
