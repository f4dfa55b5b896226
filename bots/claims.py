"""Phone numbers and platform accounts belong to one workspace across the whole installation.

A number that answers calls for one workspace must not start answering SMS (or calls) for
another: whoever claimed it second would receive the first one's callers. So a number is
written one way (E.164) before it is compared, one kind of channel holds a number or an account
once, and every kind of channel on a number stays within one workspace. The database constraints
on `ChannelConnection` keep the first rule under races; these checks give the builder the reason.
"""

from __future__ import annotations

import phonenumbers

from bots.models import ChannelConnection

NUMBER_FORMAT = "Write the number in international form with its country code, e.g. +14155550100."


def normalise_number(number: str) -> str:
    """The number in E.164 (+14155550100). Raises ValueError with what to do when it is not one."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{number}” is not a phone number. {NUMBER_FORMAT}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"“{number}” is not a possible phone number. {NUMBER_FORMAT}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def claim_problem(
    *, kind: str, workspace_id: int, phone_number: str = "", external_id: str = "", exclude_pk=None, exclude_bot_id=None
) -> str:
    """Why this channel cannot have this number or account, in plain words; "" when it can.
    `exclude_pk` is the connection being changed; `exclude_bot_id` a bot whose channels are being replaced."""
    others = ChannelConnection.objects.all()
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    if exclude_bot_id:
        others = others.exclude(bot_id=exclude_bot_id)
    if phone_number:
        same = others.filter(phone_number=phone_number)
        if same.filter(kind=kind).exists():
            return f"{phone_number} is already connected to another bot. Disconnect it there first."
        if same.exclude(bot__workspace_id=workspace_id).exists():
            return f"{phone_number} belongs to another workspace. Ask its owner to disconnect it first."
    if external_id and others.filter(kind=kind, external_id=external_id).exists():
        label = ChannelConnection.Kind(kind).label
        return f"This {label} account is already connected to another bot. Disconnect it there first."
    return ""
