"""Frames sent to a socket that has just closed.

A frame from another process (an agent's reply, a presence change) can be on its way out at the
instant the person closes the page. The server then raises an OSError from `send`, as the ASGI
spec asks of it, and Channels lets that error end the consumer on the spot, so `disconnect` never
runs: the inbox went on counting a closed tab as open (its agent was never set away) and the
widget's open-socket gauge never went down. A server raises only once it has queued its
`websocket.disconnect`, so dropping the frame is enough: the consumer receives the disconnect next
and cleans up as after any other close.
"""

from __future__ import annotations


class DropsFramesAfterClose:
    """Mixed into a consumer: a send to a socket that is already closed is dropped, not raised."""

    async def __call__(self, scope, receive, send):
        async def send_while_open(message):
            try:
                await send(message)
            except OSError:
                pass  # the disconnect is already queued; see the module's docstring

        await super().__call__(scope, receive, send_while_open)
