"""Spoken and spaced forms turned into written ones, keeping a map back to the original text.

    n = normalise("mail john dot smith at gmail dot com, card four one one one ...")
    n.text          # "mail john.smith@gmail.com, card 4111 ..."
    n.span(a, b)    # the original (start, end) behind n.text[a:b]

Voice transcripts and careful typists spell numbers and addresses out ("double five", "oh",
"dot", "at"). Detectors run on the written form; what gets replaced is the original stretch,
so a redaction never leaves half a spoken number behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_ZERO_LIKE = {"oh", "o"}  # only zero between other digits ("oh, I see" stays)
_JOINERS = {"dot": ".", "period": ".", "point": ".", "dash": "-", "hyphen": "-", "underscore": "_", "slash": "/"}
_NUMBER_WORDS = set(_UNITS) | set(_TEENS) | set(_TENS) | _ZERO_LIKE | {"hundred", "thousand"}

_TOKEN = re.compile(r"[A-Za-z]+|\d|\s+|.", re.DOTALL)
# Cheap gate: most messages contain none of these words and are their own written form.
_SPOKEN = re.compile(
    r"\b(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
    r"fou?rty|fifty|sixty|seventy|eighty|ninety|double|triple|hundred|thousand|dot|period|point|dash|hyphen|"
    r"underscore|slash|at|plus)\b",
    re.IGNORECASE,
)


@dataclass
class Normalised:
    text: str
    starts: list[int] | None  # original start of each character of `text`; None: identical
    ends: list[int] | None
    spoken_at: set[int]  # positions of "@" written from a spoken "at"

    def span(self, a: int, b: int) -> tuple[int, int]:
        if self.starts is None:
            return a, b
        return self.starts[a], self.ends[b - 1]


def _is_digitish(tok: str) -> bool:
    low = _fold(tok)
    return tok.isdigit() or low in _UNITS or low in _TEENS or low in _TENS or low in _REPEAT or low in _ZERO_LIKE


def normalise(text: str) -> Normalised:
    if not _SPOKEN.search(text):
        return Normalised(text, None, None, set())
    toks = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    words = [i for i, t in enumerate(toks) if not t[0].isspace()]
    pos = {ti: wi for wi, ti in enumerate(words)}

    def word(wi: int) -> str:
        return _fold(toks[words[wi]][0]) if 0 <= wi < len(words) else ""

    out: list[tuple[str, int, int]] = []  # (written text, original start, original end)
    spoken_at: set[int] = set()
    glue_next = False  # drop the whitespace after a joiner ("john dot smith" -> "john.smith")
    i = 0
    while i < len(toks):
        tok, s, e = toks[i]
        if tok.isspace():
            nxt = pos.get(i + 1)
            prev = pos.get(i - 1)
            glue = glue_next or (nxt is not None and word(nxt) in _JOINERS and _joins(word, nxt))
            glue = glue or (nxt is not None and word(nxt) == "at" and _email_at(word, nxt))
            glue = glue or (nxt is not None and word(nxt) == "plus" and _email_plus(word, nxt))
            # "garcia eighty seven at hotmail dot com": the number belongs to the address.
            glue = glue or (
                nxt is not None and prev is not None and word(prev).isalpha() and _number_before_at(word, nxt)
            )
            # Spoken digits run together: "four one one one" -> "4111" (pauses stay as commas).
            glue = glue or (
                prev is not None and nxt is not None and _spoken_digit(word, prev) and _spoken_digit(word, nxt)
            )
            if not glue:
                out.append((tok, s, e))
            glue_next = False
            i += 1
            continue
        wi = pos[i]
        low = _fold(tok)
        glue_next = False
        if low in _UNITS:
            out.append((_UNITS[low], s, e))
        elif low in _TEENS:
            out.append((_TEENS[low], s, e))
        elif low in _TENS:
            unit = word(wi + 1)
            if unit in _UNITS and unit != "zero":
                j = words[wi + 1]
                out.append((_TENS[low] + _UNITS[unit], s, toks[j][2]))
                i = j + 1
                continue
            out.append((_TENS[low] + "0", s, e))
        elif low in _REPEAT and word(wi + 1) in (_UNITS.keys() | _ZERO_LIKE):
            j = words[wi + 1]
            digit = _UNITS.get(word(wi + 1), "0")
            out.append((digit * _REPEAT[low], s, toks[j][2]))
            i = j + 1
            continue
        elif low in _ZERO_LIKE and _zero(word, wi):
            out.append(("0", s, e))
        elif low in ("hundred", "thousand") and _is_digitish(word(wi - 1)):
            follows = word(wi + 1)
            zeros = 2 if low == "hundred" else 3
            if follows in _TENS or follows in _TEENS:
                zeros -= 2
            elif follows in _UNITS:
                zeros -= 1
            out.append(("0" * zeros, s, e))
        elif low in _JOINERS and _joins(word, wi):
            out.append((_JOINERS[low], s, e))
            glue_next = True
        elif low == "at" and _email_at(word, wi):
            spoken_at.add(sum(len(p[0]) for p in out))
            out.append(("@", s, e))
            glue_next = True
        elif low == "plus" and (_is_digitish(word(wi + 1)) or _email_plus(word, wi)):
            out.append(("+", s, e))
            glue_next = True
        else:
            out.append((tok, s, e))
        i += 1

    written, starts, ends = [], [], []
    for piece, s, e in out:
        written.append(piece)
        if len(piece) == e - s and piece == text[s:e]:
            starts.extend(range(s, e))
            ends.extend(range(s + 1, e + 1))
        else:
            starts.extend([s] * len(piece))
            ends.extend([e] * len(piece))
    return Normalised("".join(written), starts, ends, spoken_at)


def _fold(tok: str) -> str:
    # Capital "OH" is Ohio ("Columbus, OH 43004"); people and speech-to-text write the zero "oh".
    return tok if tok == "OH" else tok.lower()


def _zero(word, wi: int) -> bool:
    """ "oh" or "o" said for a zero: next to a digit, and not the O of a name ("56 O'Neill")."""
    return word(wi + 1) not in ("'", "’") and (_is_digitish(word(wi - 1)) or _is_digitish(word(wi + 1)))


def _spoken_digit(word, wi: int) -> bool:
    w = word(wi)
    return w in _UNITS or w in _REPEAT or (w in _ZERO_LIKE and _zero(word, wi))


def _joins(word, wi: int) -> bool:
    """A spoken "dot"/"dash" between two word-ish tokens (not "a dot on the map.")."""
    before, after = word(wi - 1), word(wi + 1)
    return bool(before) and bool(after) and (before.isalnum() or before in _NUMBER_WORDS) and after.isalnum()


def _email_at(word, wi: int) -> bool:
    """A spoken "at" inside an address: a "dot" (or ".") follows within three words, after a
    domain with a letter in it ("at 555.123.4567" is a phone) and not after a contraction
    ("I'm at H.No. 18" is a place)."""
    if not (word(wi - 1) and word(wi - 1).isalnum()) or word(wi - 2) in ("'", "’"):
        return False
    ahead = [word(wi + k) for k in range(1, 7)]
    if "@" in ahead:
        return False
    dot = next((i for i in range(1, 4) if ahead[i] in ("dot", ".")), None)
    return (
        dot is not None
        and any(ch.isalpha() for w in ahead[:dot] for ch in w)
        and "at" not in ahead[1:dot]
        and ahead[dot + 1 : dot + 3].count("at") == 0
    )


def _email_plus(word, wi: int) -> bool:
    """ "john plus shop at …": a tag inside a spoken address."""
    return word(wi + 2) == "at" and _email_at(word, wi + 2)


def _number_before_at(word, wi: int) -> bool:
    """Spoken digits at `wi` running up to an address's "at"."""
    if not _is_digitish(word(wi)):
        return False
    k = wi
    while _is_digitish(word(k)):
        k += 1
    return word(k) == "at" and _email_at(word, k)
