"""Writes for analytics: a person's rating of a conversation, whichever channel asked for it."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from analytics.models import Rating
from conversations.models import Conversation

THUMBS = {"up": 5, "down": 1}


def rating_score(*, score: int | None = None, thumbs: str | None = None) -> tuple[int, str]:
    """(score on 1–5, source) from either a 1–5 score or a thumb; ValueError says what to send."""
    if (score is None) == (thumbs is None):
        raise ValueError('Send either "score" (1 to 5) or "thumbs" ("up" or "down").')
    if thumbs is not None:
        if thumbs not in THUMBS:
            raise ValueError('"thumbs" is "up" or "down".')
        return THUMBS[thumbs], Rating.Source.THUMBS
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValueError('"score" is a whole number from 1 to 5.')
    return score, Rating.Source.STARS


def conversation_rate(*, conversation: Conversation, score: int, source: str) -> Rating:
    """Record (or change: the person changed their mind) the conversation's rating."""
    rating = Rating(conversation=conversation, score=score, source=source)
    try:
        rating.full_clean(exclude=["conversation"], validate_unique=False)
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages))
    row, _ = Rating.objects.update_or_create(conversation=conversation, defaults={"score": score, "source": source})
    return row
