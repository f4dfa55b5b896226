"""SSRF-safe outbound HTTP: the one way Switchboard fetches a URL a bot builder typed.

Tools and URL ingestion (`knowledge/`) call builder-supplied URLs from inside our network, so
every request is vetted before it leaves:

* only http(s); the host is resolved here and *every* address it resolves to must be public —
  loopback, private, link-local (cloud metadata lives at 169.254.169.254), shared, multicast,
  reserved and unspecified ranges are refused, for IPv4, IPv6 and IPv4-mapped IPv6 alike;
* the connection goes to the address we vetted (the URL is rewritten to the IP, with the
  original `Host` header and TLS server name), so a DNS answer that changes between the check
  and the connect (DNS rebinding) cannot redirect us;
* redirects are followed by hand, at most `max_redirects`, each hop vetted again;
* the body is read in chunks and refused past `max_bytes`; every request has a timeout.

Hosts in the workspace's allow-list (`Workspace.tool_allowed_hosts`) skip the address check,
so a builder can call an internal service on purpose.

    resp = await fetch("GET", url, allowed_hosts=workspace_hosts, timeout_s=8)
    resp.json()

`fetch_sync` is the same for Celery code.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}

# Not covered by `is_global` in every Python version, or worth naming explicitly.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


class OutboundError(Exception):
    """An outbound request was refused or failed; the message is fit to show a builder."""


class BlockedAddress(OutboundError):
    pass


class ResponseTooLarge(OutboundError):
    pass


@dataclass
class Response:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers), errors="replace")

    def json(self):
        return json.loads(self.content)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def _charset(headers: httpx.Headers) -> str:
    ctype = headers.get("content-type", "")
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return is_public(mapped)
    if ip in _METADATA:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a.lower().strip().rstrip(".") for a in allowed_hosts if a.strip())


@dataclass
class _Target:
    url: str  # rewritten to the vetted IP
    host: str  # original host name, for the Host header and TLS
    host_header: str


def _split(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"Only http and https addresses can be called, not “{parts.scheme or url}”.")
    if not parts.hostname:
        raise BlockedAddress(f"“{url}” has no host name.")
    return parts


def _vet(parts, infos: list, allowed: bool) -> str:
    """The address to connect to: the first resolved one, after checking all of them."""
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not allowed and not is_public(ip):
            raise BlockedAddress(
                f"“{parts.hostname}” points to a private or internal address ({ip}), which bots may not call. "
                "If this service is yours, add its host to the workspace's allowed hosts."
            )
        addresses.append(ip)
    if not addresses:
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS returned no address).")
    return str(addresses[0])


def _target(parts, ip: str) -> _Target:
    netloc_ip = f"[{ip}]" if ":" in ip else ip
    if parts.port:
        netloc_ip += f":{parts.port}"
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, netloc_ip, parts.path or "/", parts.query, ""))
    return _Target(url=url, host=parts.hostname, host_header=host_header)


def _port(parts) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, allowed_hosts: Iterable[str] = ()) -> _Target:
    parts = _split(url)
    allowed = host_allowed(parts.hostname, allowed_hosts)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS lookup failed).")
    return _target(parts, _vet(parts, infos, allowed))


def resolve_sync(url: str, allowed_hosts: Iterable[str] = ()) -> _Target:
    parts = _split(url)
    allowed = host_allowed(parts.hostname, allowed_hosts)
    try:
        infos = socket.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS lookup failed).")
    return _target(parts, _vet(parts, infos, allowed))


def _request(client, method: str, target: _Target, headers: dict | None, content) -> httpx.Request:
    merged = {**(headers or {}), "Host": target.host_header}
    # The TLS handshake and certificate check use the real host name, not the IP we dial.
    return client.build_request(
        method, target.url, headers=merged, content=content, extensions={"sni_hostname": target.host}
    )


def _next_hop(method: str, url: str, resp: httpx.Response, content):
    location = resp.headers.get("location")
    if not location:
        return None
    new_url = urljoin(url, location)
    if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
        return "GET", new_url, None
    return method, new_url, content


def _too_large(max_bytes: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"The response is larger than the {max_bytes // 1024} KB limit.")


async def fetch(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    content: bytes | str | None = None,
    allowed_hosts: Iterable[str] = (),
    timeout_s: float = 10.0,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Response:
    """Send one request through the guard; raises `OutboundError` (or `httpx.HTTPError`)."""
    allowed_hosts = list(allowed_hosts)
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            target = await resolve(url, allowed_hosts)
            request = _request(client, method, target, headers, content)
            resp = await client.send(request, stream=True)
            try:
                if resp.status_code in REDIRECT_CODES:
                    hop = _next_hop(method, url, resp, content)
                    if hop:
                        method, url, content = hop
                        continue
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise _too_large(max_bytes)
                return Response(resp.status_code, resp.headers, bytes(body), url)
            finally:
                await resp.aclose()
    raise OutboundError(f"Too many redirects (more than {max_redirects}).")


def fetch_sync(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    content: bytes | str | None = None,
    allowed_hosts: Iterable[str] = (),
    timeout_s: float = 10.0,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Response:
    """`fetch` for synchronous code (Celery tasks)."""
    allowed_hosts = list(allowed_hosts)
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            target = resolve_sync(url, allowed_hosts)
            request = _request(client, method, target, headers, content)
            resp = client.send(request, stream=True)
            try:
                if resp.status_code in REDIRECT_CODES:
                    hop = _next_hop(method, url, resp, content)
                    if hop:
                        method, url, content = hop
                        continue
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise _too_large(max_bytes)
                return Response(resp.status_code, resp.headers, bytes(body), url)
            finally:
                resp.close()
    raise OutboundError(f"Too many redirects (more than {max_redirects}).")
