"""Street addresses and postcodes, by their shape: a house number, a street name and a street
type ("42 Elm Street", "1600 Pennsylvania Ave NW, Apt 4"), a PO box, a UK postcode."""

from __future__ import annotations

import re

_STREET_TYPES = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|"
    r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|cres|close|row|alley|plaza|loop|"
    r"grove|gardens|gdns|mews|hill|park|walk|green|view|point|pike|route|rte|expressway|freeway"
)
_UNIT = r"(?:,?\s*(?:apt|apartment|unit|suite|ste|flat|floor|fl|#)\.?\s*#?\s*[A-Za-z0-9-]{1,6})"
_DIRECTION = r"(?:[NSEW]|N\.?[EW]|S\.?[EW]|north|south|east|west|northeast|northwest|southeast|southwest)\.?"
_UK_POSTCODE = r"(?-i:[A-Z]{1,2}\d[A-Z\d]?\s*\d[ABD-HJLNP-UW-Z]{2})\b"
STREET = re.compile(
    rf"(?<![\w.,-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+(?:{_DIRECTION}\s+)?"
    rf"(?:(?:\d{{1,3}}(?:st|nd|rd|th)|[A-Za-z][A-Za-z'’.-]*)\s+){{1,4}}(?:{_STREET_TYPES})\b\.?"
    rf"(?:\s+{_DIRECTION}(?![\w']))?{_UNIT}?"
    rf"(?:,?\s*(?-i:[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}})(?:,?\s+(?-i:[A-Z]{{2}})\b)?(?:\s+\d{{5}}(?:-\d{{4}})?)?)?"
    rf"(?:,?\s+{_UK_POSTCODE})?",
    re.IGNORECASE,
)
PO_BOX = re.compile(r"\bp\.?\s?o\.?\s*box\s+\d{1,7}\b", re.IGNORECASE)
UK_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}")
_NOT_STREET_START = frozenset("and or of to for in at on the a an items things times people days hours minutes".split())


def addresses(text: str):
    for m in STREET.finditer(text):
        first_word = re.match(r"\S+\s+(\S+)", m.group())
        if first_word and first_word.group(1).lower().rstrip(",") in _NOT_STREET_START:
            continue
        yield m.start(), m.end(), "ADDRESS"
    for pattern in (PO_BOX, UK_POSTCODE):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "ADDRESS"
