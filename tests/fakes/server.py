"""Run a small ASGI app on a free loopback port in a background thread (for vendor fakes)."""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn

from tests.processes import free_port


class ThreadedServer:
    def __init__(self, app, *, ws: str = "websockets-sansio"):
        self.port = free_port()
        # asgi3 explicitly: uvicorn's auto-detection takes a bound method (FakeOpenAI.app) for ASGI2.
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws=ws, interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.run(self._server.serve())

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


class FakeVendor:
    """What every vendor fake shares: its ASGI `app` served on a free loopback port."""

    path_prefix = ""  # e.g. "/v1" for an API whose SDK expects the version in the base URL

    def __init__(self):
        self._server = ThreadedServer(self.app)

    async def app(self, scope, receive, send):
        raise NotImplementedError

    def start(self):
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url + self.path_prefix


async def read_body(receive) -> bytes:
    """The whole body of an ASGI HTTP request."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
