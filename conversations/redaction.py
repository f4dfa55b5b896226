"""Where the rest of Switchboard redacts: the fast pass of `conversations.pii`, before anything is stored.

redact("card 4111 1111 1111 1111, mail me at a@b.co")  ->  "card [CARD], mail me at [EMAIL]"
"""

from conversations.pii import Redacted, find, holds_secret, redact, redact_obj, region_of, remembering

__all__ = ["Redacted", "find", "holds_secret", "redact", "redact_obj", "region_of", "remembering"]
