"""The inbox socket, `ws/inbox/`: live chats for the agents of a workspace (frames: `frames.py`).

Authenticated by the Django session (the route alone is wrapped in the session and auth
middleware, with an Origin check against ALLOWED_HOSTS: a cookie-authenticated socket must not
be openable from another site). On every (re)connect the agent gets a full snapshot, so a
dropped socket loses nothing; after that, the workspaces' groups carry each change.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bots.access import INBOX, workspaces_for
from channels_app import protocol
from channels_app.sockets import DropsFramesAfterClose
from conversations.models import Handoff
from dialogue.db import db
from inbox import frames, presence, selectors
from inbox.access import handoffs_for


def _workspace_ids(user) -> list[int]:
    return list(workspaces_for(user, INBOX).values_list("pk", flat=True))


def _owned_conversation(user, conversation_id) -> int | None:
    """The conversation of a chat this agent has right now, or None (permission re-checked per frame)."""
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        return None
    owned = handoffs_for(user).filter(conversation_id=conversation_id, status=Handoff.Status.ASSIGNED, assigned_to=user)
    return conversation_id if owned.exists() else None


class InboxConsumer(DropsFramesAfterClose, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        self.groups_joined: list[str] = []
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            await self.send_json(frames.error("login", "Log in to use the inbox."))
            return await self.close(code=4401)
        ids = await db(_workspace_ids)(self.user)
        if not ids:
            await self.send_json(frames.error("not_an_agent", "You are not an agent in any workspace."))
            return await self.close(code=4403)
        for workspace_id in ids:
            group = frames.group_name(workspace_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await presence.connected(self.user, self.channel_name)
        # Joined first, then the snapshot: a change in between arrives twice rather than never.
        await self.send_json(await db(selectors.snapshot)(self.user))

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.groups_joined:
            await presence.disconnected(self.user, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "typing" and self.groups_joined:
            conversation_id = await db(_owned_conversation)(self.user, content.get("conversation_id"))
            if conversation_id is not None:
                await self.channel_layer.group_send(
                    protocol.group_name(conversation_id),
                    {"type": protocol.GROUP_EVENT, "frame": protocol.agent_typing(frames.display_name(self.user))},
                )
        else:
            await self.send_json(frames.error("bad_frame", 'Frames are JSON objects with a "type": typing or ping.'))

    async def inbox_frame(self, event):
        await self.send_json(event["frame"])
