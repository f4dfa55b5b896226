"""Person names. The fast pass catches the names people introduce ("my name is …", "this is
…", "Mr …", "Name: …"); the deep pass (`ner.py`, a local statistical model, off the hot path)
finds the rest."""

from __future__ import annotations

import re
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_CHAT_WORDS = frozenset(
    """back later today tomorrow tonight please thanks thank sorry calling looking trying interested here
    fine good ok okay ready done new happy sure glad able unable going coming waiting writing having just
    still really very so not also about from with your a an the my our customer calling regarding
    following hoping wondering after before since until while because following afraid confused
    frustrated annoyed upset excited pleased ringing texting contacting checking following there speaking
    returning phoning again monday tuesday wednesday thursday friday saturday sunday january february march
    july september october november december christmas easter""".split()
)
_STOP = ENGLISH_STOP_WORDS | _CHAT_WORDS
# Given names that are nothing else: a lowercase word after "this is" or "i'm" is a name when it
# is one of these ("this is marcus" is, "this is urgent" is not), as a voice transcript writes it.
GIVEN_NAMES = frozenset(
    line.strip() for line in Path(__file__).with_name("first_names.txt").read_text().splitlines() if line[:1] != "#"
)
_WORD_NAMES = frozenset({"will", "bill", "may"})  # given names that are also stop words
_NAME = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]*"
_TITLE_WORDS = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof"})
# "Miss" only capitalised: "I miss Paris" is a verb.
_TITLE = "(?:" + "|".join("(?-i:Miss)" if t == "miss" else t for t in sorted(_TITLE_WORDS)) + r")\.?"
# "my husband John Smith set up the account"
_RELATIVE = (
    r"(?:husband|wife|partner|son|daughter|mother|mom|mum|father|dad|brother|sister|friend|colleague|boss|manager|"
    r"accountant|lawyer|solicitor|assistant|neighbou?r|landlord|tenant|carer|caregiver|grand(?:son|daughter|mother|father))"
)
# Words that name someone only when a given name follows: "tell Maria", not "tell Amazon".
_GIVEN_ONLY_CUES = r"tell|add|signed\s+(?:for\s+)?by|from\s*:|cc\s*:?"
_GIVEN_ONLY = re.compile(rf"^(?:{_GIVEN_ONLY_CUES})\s", re.I)
# "My name is" and "I am" in Spanish, French, German, Dutch, Italian and Portuguese; names that
# follow are capitalised, and the lowercase word after them ("y", "de") is not one.
_FOREIGN = (
    r"me\s+llamo|mi\s+nombre\s+es|je\s+m['’]appelle|mon\s+nom\s+est|je\s+suis|mein\s+name\s+ist|ich\s+hei(?:ß|ss)e|"
    r"ich\s+bin|mijn\s+naam\s+is|ik\s+ben|mi\s+chiamo|il\s+mio\s+nome\s+è|sono|me\s+chamo|meu\s+nome\s+é|sou"
)
# Introductions where the next words are a name whatever their case.
INTRO = re.compile(
    rf"\b(?:{_GIVEN_ONLY_CUES}|{_FOREIGN}|my\s+(?:full\s+|first\s+|last\s+|sur)?name\s+is|my\s+name'?s|name'?s|name\s*[:=]|"
    rf"i\s+am\s+called|call\s+me|you\s+can\s+call\s+me|under\s+the\s+name(?:\s+of)?|it'?s\s+for|"
    rf"account\s+holder\s+is|this\s+is|i\s+am|i'?m|it'?s|speaking\s+with|talking\s+to|ask\s+for|"
    rf"(?:spoke|speak|spoken|talked|talk|chatted)\s+(?:with|to)|put\s+me\s+through\s+to|transfer\s+me\s+to|"
    rf"attention\s+of|attn:?|ask\s+for|ask|dear|contact\s*:|signed|regards,?|cheers,?|thanks,?|sincerely,?|"
    rf"my\s+{_RELATIVE}|(?:the\s+)?name\s+(?:on\s+the\s+\w+\s+)?(?:is|should\s+be|was)|"
    rf"(?:full|first|last|sur|given|family)\s*name(?:\s+is|\s*[:=])?|name|"
    rf"{_TITLE})"
    rf"\s+((?:{_TITLE}\s+)?(?:{_NAME})(?:\s+{_NAME}){{0,2}})",
    re.IGNORECASE,
)
# After these only capitalised words count ("this is urgent" is not a name, "this is Maria" is).
_CASE_SENSITIVE = re.compile(
    rf"^(?:this|i|i'?m|it'?s|speak|spoke|talk|chat|put|transfer|attention|attn|ask|dear|contact|signed|regards|cheers|"
    rf"thanks|sincerely|(?:the\s+)?name\s|{_FOREIGN}|(?:full|first|last|sur|given|family)\s*name\s*$|"
    rf"my\s+{_RELATIVE})",
    re.I,
)
_LED_BY_TITLE = re.compile(rf"{_TITLE}\s", re.I)
_CAPITALISED = r"(?-i:[A-Z][a-z'’-]+)"
_FULL_NAME = rf"{_CAPITALISED}(?:\s+(?-i:[A-Z][A-Za-z'’-]+)){{0,2}}"
# Names standing with no phrase before them: "Maria Lopez here, …", "Morning, Wei Zhang speaking",
# "Megan Doyle, 12 Elm Street", "send it to Megan Doyle, …", "… thanks! Hannah".
_STANDING = (
    re.compile(
        rf"^\s*(?:(?:hi|hello|hey|hiya|morning|good\s+(?:morning|afternoon|evening)|yes|yeah|ok)[,!.]?\s+)?"
        rf"({_FULL_NAME})\s+(?:here|speaking)\b",
        re.I,
    ),
    re.compile(rf"(?:^\s*|\bto\s+|\bfor\s+|:\s+)({_CAPITALISED}\s+{_CAPITALISED}),\s"),
    re.compile(rf"(?:^|[.!?,]\s+|\n\s*)(?:-\s*)?({_FULL_NAME})[.!]?\s*$"),
)


def _standing_name(words: list[str]) -> bool:
    """A name alone needs a given name first; with a surname, a first word that is no common word."""
    first = words[0].lower()
    return first in GIVEN_NAMES or (len(words) > 1 and first not in _STOP and words[1].lower() not in _STOP)


def _word_name(found: list[re.Match], i: int) -> bool:
    """ "I'm Will Turner": a given name that is also a common word, capitalised, before a surname."""
    word = found[i].group()
    if word.lower() not in _WORD_NAMES or not word[0].isupper() or i + 1 >= len(found):
        return False
    surname = found[i + 1].group()
    return surname[0].isupper() and surname.lower() not in _STOP


def names(text: str):
    for pattern in _STANDING:
        for m in pattern.finditer(text):
            words = m.group(1).split()
            if _standing_name(words) and (pattern is _STANDING[0] or words[0].lower() in GIVEN_NAMES):
                yield m.start(1), m.end(1), "NAME"
    pos = 0
    # Each search starts where the last name ended or, when an introduction held none, right
    # after its phrase: "I'm speaking with Ms. Rivera" finds the name the first phrase missed.
    while m := INTRO.search(text, pos):
        pos = m.start(1)
        phrase = m.group()[: m.start(1) - m.start()]
        capitalised_only = None if _LED_BY_TITLE.match(phrase) else _CASE_SENSITIVE.match(phrase) is not None
        given_only = _GIVEN_ONLY.match(phrase) is not None
        start = end = None
        words_left = 3
        found = list(re.finditer(_NAME, m.group(1)))
        for i, w in enumerate(found):
            word = w.group()
            bare = word.lower().strip("'’-")
            if start is None and bare in _TITLE_WORDS:
                # "this is Dr. Emily Watson": the title stays, the name goes. After a title the name
                # may be lowercase ("it's mr smith"); a capitalised one ends at a lowercase word.
                capitalised_only = given_only = None
                continue
            if start is None and given_only and bare not in GIVEN_NAMES:
                break
            if capitalised_only is None:
                capitalised_only = word[0].isupper()
            if (bare in _STOP and not _word_name(found, i)) or not words_left:
                break
            if capitalised_only and not word[0].isupper():
                # A transcript writes names in lowercase: a given name opens one there, and one more
                # word may be its surname ("this is kevin o'donnell calling").
                if start is not None or bare not in GIVEN_NAMES:
                    break
                capitalised_only, words_left = False, 2
            words_left -= 1
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
