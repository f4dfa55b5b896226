"""The only way inbox views and the inbox socket fetch a handoff: through the workspaces where the
person works the inbox (`bots.access.INBOX`). Anything else answers 404, like a missing id."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from bots.access import INBOX, workspaces_for
from bots.models import Workspace
from conversations.models import Handoff


def handoffs_for(user) -> QuerySet[Handoff]:
    return Handoff.objects.filter(conversation__workspace__in=workspaces_for(user, INBOX))


def access_handoff(user, handoff_id) -> Handoff:
    try:
        return handoffs_for(user).select_related("conversation", "assigned_to").get(pk=int(handoff_id))
    except (Handoff.DoesNotExist, TypeError, ValueError):
        raise Http404("No such chat.")


def access_inbox_workspace(user, workspace_id):
    try:
        return workspaces_for(user, INBOX).get(pk=int(workspace_id))
    except (Workspace.DoesNotExist, TypeError, ValueError):
        raise Http404("No such workspace.")
