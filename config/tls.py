"""TLS contexts for the platform's outgoing connections, built once per process.

Building an `ssl.SSLContext` loads the trusted certificates: 20–25 ms of CPU. httpx builds one
for every client it creates and `websockets` one for every wss:// connection, so a client made
per request (a tool call, a WhatsApp message) or a speech-to-text socket per phone call spent
that on the event loop each time, while every call and chat of the process waited. A context
serves any number of connections and threads; each library keeps its own default trust store.
Web processes build them at start-up (config.asgi).
"""

from __future__ import annotations

import functools
import ssl

import httpx
import httpx2


@functools.cache
def for_httpx() -> ssl.SSLContext:
    """httpx's default (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR): pass as `verify=`."""
    return httpx.create_ssl_context()


@functools.cache
def for_httpx2() -> ssl.SSLContext:
    """The OpenAI SDK's HTTP client's default (the system's trust store)."""
    return httpx2.create_ssl_context()


@functools.cache
def for_websockets() -> ssl.SSLContext:
    """What `websockets` uses for wss:// (the system's trust store)."""
    return ssl.create_default_context()


def warm() -> None:
    for build in (for_httpx, for_httpx2, for_websockets):
        build()
