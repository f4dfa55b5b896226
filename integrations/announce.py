"""`conversation.ended`, from wherever a conversation ends (a turn, a phone call)."""

from __future__ import annotations

from conversations.models import Conversation
from integrations.events import CONVERSATION_ENDED, emit


def conversation_ended(conversation_id: int) -> None:
    workspace_id = Conversation.objects.values_list("workspace_id", flat=True).get(pk=conversation_id)
    emit(workspace_id, CONVERSATION_ENDED, {"conversation_id": conversation_id})
