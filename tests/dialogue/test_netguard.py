"""Outbound requests refuse internal addresses, before connecting and on every redirect."""

from __future__ import annotations

import pytest

from dialogue import netguard
from tests.fakes.server import ThreadedServer


async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    host = dict(scope["headers"]).get(b"host", b"").decode()
    if path == "/redirect-internal":
        status, headers, body = 302, [(b"location", b"http://localhost:1/secret")], b""
    elif path == "/redirect-ok":
        status, headers, body = 302, [(b"location", b"/hello")], b""
    elif path == "/loop":
        status, headers, body = 302, [(b"location", b"/loop")], b""
    elif path == "/big":
        status, headers, body = 200, [], b"x" * 5000
    else:
        status, headers, body = 200, [(b"content-type", b"application/json")], f'{{"host": "{host}"}}'.encode()
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The workspace of someone who runs this service on their own machine, on purpose.
LOOPBACK = netguard.Policy(allowed_hosts=("127.0.0.1",), allow_private=True)


@pytest.fixture(scope="module")
def local_server():
    server = ThreadedServer(_app).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://100.100.100.200/",
    ],
)
async def test_internal_addresses_are_refused_with_a_clear_message(url):
    with pytest.raises(netguard.BlockedAddress, match="private or internal address|cloud metadata"):
        await netguard.fetch("GET", url)
    with pytest.raises(netguard.BlockedAddress):
        netguard.fetch_sync("GET", url)


async def test_non_http_schemes_are_refused():
    with pytest.raises(netguard.BlockedAddress, match="Only http and https"):
        await netguard.fetch("GET", "file:///etc/passwd")


async def test_allow_listed_host_is_reached_with_its_own_host_header(local_server):
    resp = await netguard.fetch("GET", f"{local_server.base_url}/x", policy=LOOPBACK)
    assert resp.ok and resp.json() == {"host": f"127.0.0.1:{local_server.port}"}
    sync = netguard.fetch_sync("GET", f"{local_server.base_url}/x", policy=LOOPBACK)
    assert sync.json() == resp.json()


async def test_redirects_are_checked_again(local_server):
    with pytest.raises(netguard.BlockedAddress, match="localhost"):
        await netguard.fetch("GET", f"{local_server.base_url}/redirect-internal", policy=LOOPBACK)
    ok = await netguard.fetch("GET", f"{local_server.base_url}/redirect-ok", policy=LOOPBACK)
    assert ok.url.endswith("/hello") and ok.ok
    with pytest.raises(netguard.OutboundError, match="Too many redirects"):
        await netguard.fetch("GET", f"{local_server.base_url}/loop", policy=LOOPBACK)


async def test_response_size_is_capped(local_server):
    with pytest.raises(netguard.ResponseTooLarge):
        await netguard.fetch("GET", f"{local_server.base_url}/big", policy=LOOPBACK, max_bytes=1000)
    with pytest.raises(netguard.ResponseTooLarge):
        netguard.fetch_sync("GET", f"{local_server.base_url}/big", policy=LOOPBACK, max_bytes=1000)
