"""Values a label names: "date of birth 03/14/1985", "passport number 561234789", "cvv 123".

A date, a short code or a run of digits is nobody's until a word says whose it is: "delivered
on 03/14" is a delivery, "born on 03/14/1985" a person. Each rule here is a label (what people
write or say before such a value) and the shape the value must have; only the value is
replaced, so "my passport number is [ID]" still reads. Runs over the written form of a message
(`normalise.py`: spoken digits are digits by then).

Kinds: DOB (dates of birth), ID (passports, driving licences, national insurance and other
government numbers), ACCOUNT (bank accounts, routing numbers and sort codes, customer, member
and policy numbers), CARD (a card's expiry date and security code), SECRET (PINs, passwords,
one-time codes and security answers), ADDRESS (a ZIP or postcode named as one).
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# "14th", "the fourteenth", "twenty first" (written "20 first" once spoken numbers are digits).
_ORDINAL_WORD = (
    r"(?:(?:(?:20|30|twenty|thirty)[\s-]+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    r"tenth|eleventh|twelfth|(?:thir|four|fif|six|seven|eigh|nine)teenth|twentieth|thirtieth)"
)
_DAY = rf"(?:{_ORDINAL_WORD}|\d{{1,2}}(?:st|nd|rd|th)?)"
# "1985", "'85", "19 85" (said "nineteen eighty five"), "2 000 and 1".
_YEAR = r"(?:'\d{2}|\d{1,4}(?:[\s-]+(?:and\s+)?\d{1,3}){0,2})\b"
# "03/14/1985", "1985-03-14", "19880622", said "oh three fourteen eighty five" (written "03 14 85").
_NUMERIC_DATE = r"\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}\b|\d{1,2}\s\d{1,2}\s(?:\d{4}|\d{2})\b|\d{8}\b"
_WORD_DATE = (
    rf"(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH},?\s+\d{{4}}\b"
)
_DATE = rf"(?:{_NUMERIC_DATE}|{_WORD_DATE})"
_BIRTH = (
    r"date\s+of\s+birth|birth\s*date|birthday|d\.?\s?o\.?\s?b\.?|date\s+de\s+naissance|geburtsdatum|"
    r"fecha\s+de\s+nacimiento|data\s+di\s+nascita|data\s+de\s+nascimento"
)

# Words between a label and its value: "passport number is", "account no.:", "sort code —".
_FILL = (
    r"(?:[\s:=#–—-]*(?:number|numbers|no|num|nr|id|card|is|are|was|were|would\s+be|should\s+be|it'?s|its|"
    r"reads|of|ending(?:\s+in)?|code|details|['’]s|est(?:\s+le)?|ist|es)\b\.?)*[\s:=#–—-]*"
)
# An identifier: digit groups, with letter groups where codes have them ("JG 10 37 82 A",
# "D4829173", "123-456-789", spoken "j g 103782 a"). Lowercase single letters only before the
# digits: after them "a" and "i" are words.
_CODE = (
    r"(?:(?-i:[A-Z]{1,3})[\s-]?|(?<![A-Za-z])[a-z][\s-]){0,3}\d[\dA-Za-z]*"
    r"(?:(?:[\s-]|\s-\s)(?:\d[\dA-Za-z]*|(?-i:(?!I\b)[A-Z]{1,2})\b))*"
    # A final letter, as national insurance numbers end, said in lowercase at the end of a clause.
    r"(?:\s[a-dA-D](?=\s*(?:[.,;!?]|$)))?"
)

# A ZIP code, or a UK postcode written or spelled out ("m 145 a b" once its digits are written).
_POSTCODE = r"\d{5}(?:[\s-]*\d{4})?\b|[a-z]{1,2}\s?\d[a-z\d]?\s*\d\s?[a-z]\s?[a-z]\b"

_RULES: list[tuple[str, str, str, int]] = [
    # (kind, label, value, fewest digits in the value)
    ("DOB", rf"{_BIRTH}|born(?:\s+on)?", _DATE, 2),
    ("DOB", r"born(?:\s+in)?|year\s+of\s+birth|birth\s+year|d\.?\s?o\.?\s?b\.?", r"\d{4}\b|(?:19|20)\s\d{2}\b", 4),
    (
        "ID",
        r"passport|driver'?s'?\s+licen[cs]e|driving\s+licen[cs]e|licen[cs]e|dl|national\s+insurance|nino|n\.?\s?i|"
        r"national\s+id(?:entity)?(?:\s+card)?|id\s+card|identity\s+card|tax\s+id|taxpayer\s+id|tin|ein|nhs|"
        r"medicare|medicaid|health\s+card|social\s+insurance|sin|vat|personal\s+id|pps|cpr|bsn|nif|nie|dni|"
        r"codice\s+fiscale|steuer-?id|personalausweis",
        _CODE,
        4,
    ),
    (
        "ACCOUNT",
        r"(?:bank\s+|checking\s+|savings\s+|current\s+)?account|acct|acc|a/c|routing|aba|sort\s*code|customer|"
        r"member(?:ship)?|policy|loyalty|subscriber|client|patient|student|employee|insurance",
        _CODE,
        4,
    ),
    (
        "CARD",
        r"exp(?:iry|iration|ires?)?\.?(?:\s+date)?|valid\s+(?:thru|through)|good\s+(?:thru|through)",
        rf"\d{{1,2}}\s*[/-]\s*\d{{2,4}}\b|\d{{1,2}}\s+\d{{2,4}}\b|\d{{4}}\b|{_MONTH},?\s+\d{{2,4}}\b",
        2,
    ),
    (
        "CARD",
        r"cvv2?|cvc2?|cv2|cid|csc|security\s+code|card\s+(?:verification|security)\s+(?:code|value|number)|"
        r"(?:three|four|3|4)[\s-]digits?(?:\s+code)?(?:\s+on\s+the\s+back)?|(?:code|number|digits)\s+on\s+the\s+back",
        r"\d{3,4}\b",
        3,
    ),
    ("SECRET", r"pin(?:\s+(?:number|code))?", r"\d{4,8}\b", 4),
    ("SECRET", r"one[\s-]time\s+(?:code|password|pin)|otp|verification\s+code|access\s+code", r"\d{4,8}\b", 4),
    ("SECRET", r"last\s+(?:four|4)(?:\s+digits)?(?:\s+of\s+(?:(?:my|the|your)\s+)?\w+(?:\s+number)?)?", r"\d{4}\b", 4),
    ("ADDRESS", r"zip|zip\s*code|post\s*code|postal\s+code", _POSTCODE, 0),
]

_LABELLED = [
    (kind, re.compile(rf"\b(?:{label})(?![A-Za-z]){_FILL}(?P<value>{value})", re.IGNORECASE), fewest)
    for kind, label, value, fewest in _RULES
]

# "11 Feb 87 is my date of birth": the label after the value.
_DATE_FIRST = re.compile(
    rf"(?P<value>{_DATE})\s+(?:is|was|=)\s+(?:my|his|her|their|the)\s+(?:{_BIRTH})(?![A-Za-z])", re.IGNORECASE
)
# A town, a state and its ZIP with no street before them: "… PO Box 4471, Austin TX 78701".
_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
_TOWN_STATE_ZIP = re.compile(
    rf"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,?\s(?:{'|'.join(_STATES)}),?\s(?P<value>\d{{5}}(?:-\d{{4}})?)\b"
)
_CREDENTIAL_LABEL = (
    r"pass(?:word|code|phrase)|security\s+(?:answer|word)|secret\s+(?:word|answer)|memorable\s+word|"
    r"mother'?s\s+maiden\s+name"
)
# Secrets that are words: "my password is Tr0ub4dor&3", "mother's maiden name: Keller".
_WORD_SECRET = re.compile(
    rf"\b(?:{_CREDENTIAL_LABEL})\s*(?:[:=]\s*|(?:is|was|would\s+be|it'?s)\s+)"
    r"(?P<value>[^\s]+?)[.,;!?]*(?:\s|$)",
    re.IGNORECASE,
)
# What a sentence says about the password rather than what it is.
_NOT_A_SECRET = ENGLISH_STOP_WORDS | frozenset(
    """wrong incorrect expired locked invalid reset forgotten lost changed blocked correct right same different
    working required needed empty case-sensitive saved stored set updated weak strong new old""".split()
)
# Cheap gate, made of the same labels: most messages hold none of them.
_ANY_LABEL = re.compile(
    rf"\b(?:{'|'.join(label for _, label, _, _ in _RULES)}|{_CREDENTIAL_LABEL})(?![A-Za-z])", re.IGNORECASE
)


def labelled(text: str):
    """(start, end, kind) of the values labels name in `text`."""
    for m in _TOWN_STATE_ZIP.finditer(text):
        yield m.start("value"), m.end("value"), "ADDRESS"
    if not _ANY_LABEL.search(text):
        return
    for m in _DATE_FIRST.finditer(text):
        yield m.start("value"), m.end("value"), "DOB"
    for kind, pattern, fewest in _LABELLED:
        for m in pattern.finditer(text):
            value = m.group("value").rstrip(" -")
            if sum(ch.isdigit() for ch in value) >= fewest:
                yield m.start("value"), m.start("value") + len(value), kind
    for m in _WORD_SECRET.finditer(text):
        value = m.group("value")
        if value.lower() not in _NOT_A_SECRET and not value.startswith("["):
            yield m.start("value"), m.end("value"), "SECRET"
