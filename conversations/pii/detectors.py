"""Typed detectors with validators: a match is PII only when its checksum or numbering plan says so.

Each detector yields `(start, end, kind)` over the written form of a message (see
`normalise.py`). Cards need Luhn and a card-network first digit, IBANs ISO 7064 mod 97 and their
country's length, SSNs the SSA's area/group/serial rules, phones a valid number in the bot's
region (libphonenumber); a digit run that fails its validator stays as written.
"""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import ssn as std_ssn

from conversations.pii.context import verdict

EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]*[A-Za-z0-9_])?@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b"
)
# Written to dodge harvesters: "jane (at) example (dot) com", "jane[at]example[dot]com".
_OPEN, _CLOSE = r"\s*[\[({<]\s*", r"\s*[\])}>]\s*"
OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.%+'’-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]*){_OPEN}at{_CLOSE}[A-Za-z0-9\-]+"
    rf"(?:(?:{_OPEN}dot{_CLOSE}|\.)[A-Za-z0-9\-]+)*(?:{_OPEN}dot{_CLOSE}|\.)[A-Za-z]{{2,24}}\b",
    re.IGNORECASE,
)
# The country letters and check digits may be spelled out one by one ("g b eight two w e s t …").
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z] ?[A-Za-z] ?\d ?\d(?:[ \-]?[A-Za-z0-9]){10,32}")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# A run of digit groups: "4111 1111-1111 1111", "(415) 555.0132", "(03).6018.1590", "+44 20 7946 0958",
# "555, 21, 1234".
_SEP = r"(?:[ \t\u00a0]*[-.,/–][ \t\u00a0]*|[ \t\u00a0]+|[ \t]*\)[ \t]*(?:[-.][ \t]*)?|[ \t]*\([ \t]*)"
# A run may end where an extension starts ("555-123-4567x890").
DIGIT_RUN = re.compile(rf"(?<![\w@.+/-])(?:\+|\(\s*)?\d+(?:{_SEP}\d+)*\)?(?!(?!x\d)[\w@])")
# Written the way phone numbers are written, whether or not the number is allocated: North
# American "(555) 123-4567", "555.123.4567", "1-555-123-4567"; a trunk code in brackets,
# "(0161) 496 0066". Made-up and unallocated numbers in that shape are still someone's phone to
# the reader; a word before it saying otherwise ("part", "order") still keeps it.
_PHONE_SHAPE = re.compile(
    r"(?:(?:\+?1|001)[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}|\(0\d{1,4}\)[ .-]?\d{2,4}(?:[ .-]?\d{2,4}){0,2}"
)
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d{1,6}\b", re.IGNORECASE)
_GROUP = re.compile(r"\d+")
_DATE = re.compile(r"^(?:\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2(?:\d{2}|\d{4}))$")
_WHITE = re.compile(r"\s")

# Common words that "at" follows in plain speech ("look at example dot com" is not an address).
_NOT_LOCAL_PART = frozenset(
    "look looking arrive arrived stay staying meet be is are was were me us him her them it that this "
    "available home work here there back check visit find found see shop order buy info details".split()
)
_MAX_GROUPS = 24
_WORD_BEFORE = re.compile(r"(?<![\w.'’])([A-Za-z]+) $")
_LETTER_BEFORE = re.compile(r"(?<![\w.'’])([A-Za-z]) $")
_NOT_NAME_PART = ENGLISH_STOP_WORDS | _NOT_LOCAL_PART | {"email", "mail", "address", "send", "write", "contact", "its"}


def emails(text: str, spoken_at: set[int]):
    for m in EMAIL.finditer(text):
        at = m.group().index("@") + m.start()
        local = m.group()[: at - m.start()]
        start = m.start()
        if at in spoken_at:
            if local.lower() in _NOT_LOCAL_PART:
                continue
            # Said with a pause inside the name ("john smith at gmail dot com"): the word before
            # belongs to it too, unless it is an ordinary word ("email", "is", "me").
            before = _WORD_BEFORE.search(text, 0, start)
            if before and before.group(1).lower() not in _NOT_NAME_PART:
                start = before.start(1)
            # Spelled out letter by letter: "s c l a r k e at btinternet dot com".
            while (letter := _LETTER_BEFORE.search(text, 0, start)) and len(text[start:at].split()) > 1:
                start = letter.start(1)
        yield start, m.end(), "EMAIL"
    for m in OBFUSCATED_EMAIL.finditer(text):
        if m.group("local").lower() not in _NOT_LOCAL_PART:  # "meet (at) home (dot) now" is not one
            yield m.start(), m.end(), "EMAIL"


def ibans(text: str):
    for m in IBAN.finditer(text):
        raw = m.group()
        # The regex runs on into following words; the longest prefix that validates, ending at a word edge.
        positions = [i for i, ch in enumerate(raw) if ch.isalnum()]
        for n in range(min(34, len(positions)), 14, -1):
            end = positions[n - 1] + 1
            if end < len(raw) and raw[end].isalnum():
                continue
            compact = "".join(raw[i] for i in positions[:n]).upper()
            if _mod97(compact) and _iban_shape(compact):
                yield m.start(), m.start() + end, "IBAN"
                break


def _iban_shape(compact: str) -> bool:
    # The country's length and layout, not its national check digits: many real-looking IBANs
    # (and test data) carry only the international checksum.
    try:
        std_iban.validate(compact, check_country=False)
    except ValueError:
        return False
    return True


def _mod97(compact: str) -> bool:
    try:
        return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1
    except ValueError:
        return False


def ips(text: str):
    for m in IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        if verdict(text, m.start(), "ip") >= 0:
            yield m.start(), m.end(), "IP"
    for m in IPV6.finditer(text):
        if m.group().count(":") < 2 or not any(c.isalnum() for c in m.group()):
            continue
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        yield m.start(), m.end(), "IP"


def numbers(text: str, region: str):
    """Cards, SSNs and phones inside digit runs; a run may hold several ("card 4111… exp 12/27")."""
    for m in DIGIT_RUN.finditer(text):
        run = m.group()
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)][:_MAX_GROUPS]
        if sum(e - s for s, e in groups) < 7:
            continue
        # A sub-run may start or stop only where the writer left a gap (never inside "1.3.8311").
        cut = [True] + [_WHITE.search(run[groups[k - 1][1] : groups[k][0]]) is not None for k in range(1, len(groups))]
        i = 0
        while i < len(groups):
            found = None
            if cut[i]:
                for j in range(len(groups) - 1, i - 1, -1):
                    if j + 1 < len(groups) and not cut[j + 1]:
                        continue
                    kind = _classify(text, m.start(), run, groups[i][0], groups[j][1], i == 0, region)
                    if kind:
                        found = (j, kind)
                        break
            if found:
                j, kind = found
                start = m.start() + groups[i][0]
                if i == 0 and run[: groups[0][0]].strip().startswith(("+", "(")):
                    start = m.start()
                end = m.start() + groups[j][1]
                if run[groups[j][1] : groups[j][1] + 1] == ")":
                    end += 1
                if kind == "PHONE" and (extension := _EXTENSION.match(text, end)):
                    end = extension.end()
                yield start, end, kind
                i = j + 1
            else:
                i += 1


def _classify(text: str, offset: int, run: str, a: int, b: int, first: bool, region: str) -> str | None:
    piece = run[a:b]
    digits = "".join(ch for ch in piece if ch.isdigit())
    n = len(digits)
    if n < 7 or n > 19 or _DATE.match(piece):
        return None
    start = offset + a
    # Maestro's 12 digits only as a whole number: 12 of a longer run pass Luhn one time in ten.
    if _card_number(digits) and (n > 12 or not any(ch.isdigit() for ch in run[:a] + run[b:])):
        # Grouped as a card is written, it is one even after "order"; 12 digits are too like
        # other numbers for that.
        if verdict(text, start, "card") >= 0 or (n >= 13 and len(set(piece) - set("0123456789")) > 0):
            return "CARD"
    if n == 9 and std_ssn.is_valid(digits):
        said = verdict(text, start, "ssn")
        shaped = re.fullmatch(r"\d{3}\D+\d{2}\D+\d{4}", piece) is not None
        if said > 0 or (shaped and said == 0):
            return "SSN"
    if 7 <= n <= 15:
        plus = first and run[:a].strip().startswith("+")
        said = verdict(text, start, "phone")
        shaped = _PHONE_SHAPE.fullmatch((run[:b] if first else piece).strip()) is not None
        if said >= 0 and (shaped or _phone_ok(("+" if plus else "") + digits, region, lenient=plus or said > 0)):
            return "PHONE"
    return None


def _card_number(digits: str) -> bool:
    """Luhn, and a length and first digits some card network issues: 13 to 19 digits from 2 to 6,
    Maestro's 12 digits (50, 56 to 69), JCB's old 15-digit 1800 and 2131 ranges."""
    n = len(digits)
    issued = (
        (13 <= n <= 19 and digits[0] in "23456")
        or (n == 12 and (digits[:2] == "50" or "56" <= digits[:2] <= "69"))
        or (n == 15 and digits[:4] in ("1800", "2131"))
    )
    return issued and luhn.is_valid(digits)


_TRUNK_REGIONS = ("GB", "DE", "FR", "AU", "IN", "IE", "NL", "ES", "IT")


def _phone_ok(number: str, region: str, *, lenient: bool) -> bool:
    """A valid number in the region (or any, written internationally). `lenient` (a "+" or a
    word like "call" before it) accepts a number of a possible length for its country too:
    reserved ranges used in examples ("+44 7700 900…") are still someone's phone to redact."""
    check = phonenumbers.is_possible_number if lenient else phonenumbers.is_valid_number
    try:
        if number.startswith("+"):
            return check(phonenumbers.parse(number, None))
        if number.startswith("00") and len(number) > 9:
            return check(phonenumbers.parse("+" + number[2:], None))
        if check(phonenumbers.parse(number, region)):
            return True
        # A national number with a trunk "0" from another country ("07700 900123").
        if number.startswith("0") and len(number) >= 10:
            return any(check(phonenumbers.parse(number, r)) for r in _TRUNK_REGIONS)
    except phonenumbers.NumberParseException:
        return False
    return False
