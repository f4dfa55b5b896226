"""Context words: what the few words before a number say it is.

"order 4155550132" is an order number even though it is a valid US phone number; "call me on
4155550132" is a phone. The nearest telling word before a match decides; with none, the
validators alone do.
"""

from __future__ import annotations

import re

NEGATIVE = frozenset(
    """order orders ticket tickets version ver v build release invoice inv ref reference case tracking
    track confirmation booking reservation id serial sn model sku part item receipt transaction txn po
    #  no no. number# claim policy shipment parcel package
    pin code otp zip postcode isbn patch rev revision chapter page room flight"""
    .split()
)  # fmt: skip
POSITIVE = {
    "phone": frozenset(
        "phone call ring text cell cellphone mobile tel telephone fax whatsapp reach contact dial landline callback".split()
    ),
    "card": frozenset("card credit debit visa mastercard amex discover cc pay paying paid charge".split()),
    "ssn": frozenset("social ssn ss security sin itin taxpayer".split()),
    "ip": frozenset("ip address server host".split()),
}

_POSSESSIVE = frozenset("my your his her our their".split())
_LABEL_TAIL = frozenset("no number num nr #".split())
_WORD = re.compile(r"#|[a-z]+\.?")
LOOKBACK = 6  # words


def verdict(text: str, start: int, kind: str) -> int:
    """+1 when the nearest telling word before `start` supports `kind`, -1 when it says it is
    something else (an order, a ticket, a version), 0 when nothing nearby tells."""
    before = text[max(0, start - 48) : start].lower()
    if before.rstrip().endswith(("#", "$", "€", "£", "¥")):
        return -1
    positive = POSITIVE.get(kind, frozenset())
    words = _WORD.findall(before)[-LOOKBACK:]
    for k in range(len(words) - 1, -1, -1):
        word = words[k]
        bare = word.rstrip(".")
        if bare in positive:
            return 1
        # "my number" is a phone number; "my order number" reads on to "order".
        if kind == "phone" and bare == "number" and k > 0 and words[k - 1] in _POSSESSIVE:
            return 1
        # "phone no.", "card #", "tel number": the label's own word, not another kind's.
        if bare in _LABEL_TAIL and k > 0 and words[k - 1].rstrip(".") in positive:
            return 1
        if word in NEGATIVE or bare in NEGATIVE:
            return -1
    return 0
