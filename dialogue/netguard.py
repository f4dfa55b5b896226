"""SSRF-safe outbound HTTP: the one way Switchboard fetches a URL a bot builder typed.

Tools, URL ingestion and crawling (`knowledge/`) and outgoing webhooks (`integrations/`) call
builder-supplied URLs from inside our network, so every request is vetted before it leaves:

* only http(s); the host is resolved here, once per hop, and *every* address it resolves to must
  be allowed. Loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified
  ranges are refused, for IPv4, IPv6 and IPv6 forms that carry an IPv4 address (mapped,
  compatible, 6to4, Teredo, NAT64). Odd spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`) are
  resolved by the same resolver the connection would use, so they are checked as what they are;
* a workspace owner may open private networks (`Policy.allow_private`); cloud metadata
  endpoints stay refused whatever the settings, by address and by name;
* the workspace's host list (`Policy.allowed_hosts`) only narrows: when it is set, other hosts
  are refused, and a listed host is still address-checked;
* the connection goes to the address we vetted (the URL is rewritten to the IP, with the
  original `Host` header and TLS server name), so a DNS answer that changes between the check
  and the connect (DNS rebinding) cannot redirect us;
* redirects are followed by hand, at most `max_redirects`, each hop vetted again; a hop to
  another origin drops every header but a few harmless ones (credentials, cookies, custom keys);
* secrets are bound to hosts (`BoundSecret`): a hop whose URL, headers or body would carry a
  secret to a host it is not bound to is refused before it is sent;
* `timeout_s` is one deadline for the whole call (DNS, connects, redirects and the body), and
  the body is refused past `max_bytes`.

    resp = await fetch("GET", url, policy=Policy.for_workspace(workspace), timeout_s=8)
    resp.json()

`fetch_sync` is the same for Celery code.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from config import tls

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}

# Never reachable, even with private networks allowed: they hand out cloud credentials.
_METADATA_NETWORKS = [
    ipaddress.ip_network(
        "169.254.0.0/16"
    ),  # IPv4 link-local: AWS/GCP/Azure/OpenStack 169.254.169.254, ECS 169.254.170.2
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS metadata, DNS and time over IPv6 (fd00:ec2::254 …)
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
]
_METADATA_NAMES = {
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Sent on to another origin after a redirect; everything else may be a credential.
_SAFE_HEADERS = {"accept", "accept-language", "accept-encoding", "content-type", "content-language", "user-agent"}


class OutboundError(Exception):
    """An outbound request was refused or failed; the message is fit to show a builder."""


class BlockedAddress(OutboundError):
    pass


class SecretNotAllowed(OutboundError):
    pass


class ResponseTooLarge(OutboundError):
    pass


class DeadlineExceeded(httpx.TimeoutException):
    """The call as a whole ran out of time (callers already treat httpx timeouts as such)."""


@dataclass(frozen=True)
class Policy:
    """Where a workspace's outbound requests may go."""

    allowed_hosts: tuple[str, ...] = ()  # empty: any host; otherwise only these (`*.example.com` for subdomains)
    allow_private: bool = False

    @classmethod
    def for_workspace(cls, workspace) -> Policy:
        hosts = tuple(h for h in (workspace.tool_allowed_hosts or []) if h.strip())
        return cls(allowed_hosts=hosts, allow_private=bool(workspace.allow_private_networks))


@dataclass(frozen=True)
class BoundSecret:
    """A secret's value and the hosts it may be sent to."""

    name: str
    value: str
    hosts: tuple[str, ...] = ()


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


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, where the network would deliver to it."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    packed = int(ip)
    if ip in _NAT64 or (packed >> 32 == 0 and packed > 1):  # NAT64, or the old IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def is_metadata(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        return is_metadata(inner)
    return any(ip in net for net in _METADATA_NETWORKS if net.version == ip.version)


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        return is_public(inner)
    if is_metadata(ip):
        return False
    # Site-local IPv6 (fec0::/10) is deprecated yet still routed inside some networks; Python 3.11 calls it global.
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or site_local)


def _normal_host(host: str) -> str:
    return host.lower().strip().rstrip(".")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """`host` is one of `patterns`; `*.example.com` matches its subdomains (not example.com itself)."""
    host = _normal_host(host)
    for pattern in patterns:
        pattern = _normal_host(pattern)
        if not pattern:
            continue
        if pattern.startswith("*.") and host.endswith(pattern[1:]) or host == pattern:
            return True
    return False


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def host_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a host name, `*.domain` or IP address, in words (for the admin), or None."""
    raw = pattern.strip().lower().rstrip(".")
    if "://" in raw or "/" in raw or "@" in raw or " " in raw:
        return f"“{pattern}” should be a host name only, like api.example.com (no https:// or path)."
    try:
        ipaddress.ip_address(raw.strip("[]"))
        return None
    except ValueError:
        pass
    labels = raw[2:].split(".") if raw.startswith("*.") else raw.split(".")
    if not raw or not all(_HOST_LABEL.match(label) for label in labels) or (raw.startswith("*.") and len(labels) < 2):
        return f"“{pattern}” is not a host name. Write it like api.example.com, or *.example.com for its subdomains."
    return None


@dataclass
class _Target:
    url: str  # rewritten to the vetted IP
    host: str  # original host name, for the Host header and TLS
    host_header: str


def _split(url: str):
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise BlockedAddress(f"“{url}” is not a valid web address.")
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"Only http and https addresses can be called, not “{parts.scheme or url}”.")
    if not parts.hostname:
        raise BlockedAddress(f"“{url}” has no host name.")
    return parts


def _is_metadata_literal(host: str) -> bool:
    try:
        return is_metadata(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return False


def _check_name(parts, policy: Policy) -> None:
    host = _normal_host(parts.hostname)
    if host in _METADATA_NAMES or _is_metadata_literal(host):
        raise BlockedAddress(f"“{parts.hostname}” is a cloud metadata address, which bots may never call.")
    if policy.allowed_hosts and not host_matches(host, policy.allowed_hosts):
        raise BlockedAddress(
            f"“{parts.hostname}” is not among the workspace's allowed hosts "
            f"({', '.join(policy.allowed_hosts)}). An owner can add it in the workspace settings."
        )


def _vet(parts, infos: list, policy: Policy) -> str:
    """The address to connect to: the first resolved one, after checking all of them."""
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if is_metadata(ip):
            raise BlockedAddress(
                f"“{parts.hostname}” points to a cloud metadata address ({ip}), which bots may never call."
            )
        if not policy.allow_private and not is_public(ip):
            raise BlockedAddress(
                f"“{parts.hostname}” points to a private or internal address ({ip}), which bots may not call. "
                "If this service is yours, a workspace owner can allow private networks in the workspace settings."
            )
        addresses.append(ip)
    if not addresses:
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS returned no address).")
    return str(addresses[0])


def _target(parts, ip: str) -> _Target:
    netloc_ip = f"[{ip}]" if ":" in ip else ip
    if parts.port:
        netloc_ip += f":{parts.port}"
    host = parts.hostname
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, netloc_ip, parts.path or "/", parts.query, ""))
    return _Target(url=url, host=host, host_header=host_header)


def _port(parts) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, policy: Policy = Policy()) -> _Target:
    parts = _split(url)
    _check_name(parts, policy)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS lookup failed).")
    return _target(parts, _vet(parts, infos, policy))


def resolve_sync(url: str, policy: Policy = Policy()) -> _Target:
    parts = _split(url)
    _check_name(parts, policy)
    try:
        infos = socket.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BlockedAddress(f"“{parts.hostname}” could not be found (DNS lookup failed).")
    return _target(parts, _vet(parts, infos, policy))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, _normal_host(parts.hostname or ""), _port(parts)


class _Call:
    """One request and its redirects: what to send next, with the checks every hop shares."""

    def __init__(self, method, url, headers, content, secrets: Sequence[BoundSecret], timeout_s, max_redirects):
        self.method, self.url, self.content = method, url, content
        self.headers = dict(headers or {})
        self.secrets = [s for s in secrets if s.value]
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.max_redirects = self.hops_left = max_redirects

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"No answer within {self.timeout_s:g} seconds.")
        return left

    def request(self, client, target: _Target) -> httpx.Request:
        self._check_secrets(target.host)
        merged = {**self.headers, "Host": target.host_header}
        left = self.remaining()
        # The TLS handshake and certificate check use the real host name, not the IP we dial.
        return client.build_request(
            self.method,
            target.url,
            headers=merged,
            content=self.content,
            timeout=httpx.Timeout(left),
            extensions={"sni_hostname": target.host},
        )

    def _check_secrets(self, host: str) -> None:
        if not self.secrets:
            return
        content = self.content.decode(errors="replace") if isinstance(self.content, bytes) else self.content or ""
        carried = "\n".join([self.url, content, *map(str, self.headers.values())])
        for secret in self.secrets:
            if secret.value in carried and not host_matches(host, secret.hosts):
                bound = ", ".join(secret.hosts) or "no host yet"
                raise SecretNotAllowed(
                    f"The secret {secret.name} may not be sent to {host} (it is bound to: {bound}). "
                    f"If {host} should receive it, add it to the secret's allowed hosts."
                )

    def follow(self, resp: httpx.Response) -> bool:
        """Set up the next hop if `resp` redirects; False when it is the answer."""
        location = resp.headers.get("location")
        if resp.status_code not in REDIRECT_CODES or not location:
            return False
        if self.hops_left <= 0:
            raise OutboundError(f"Too many redirects (more than {self.max_redirects}).")
        self.hops_left -= 1
        new_url = urljoin(self.url, location)
        if _origin(new_url) != _origin(self.url):
            self.headers = {k: v for k, v in self.headers.items() if k.lower() in _SAFE_HEADERS}
        if resp.status_code == 303 or (resp.status_code in (301, 302) and self.method == "POST"):
            self.method, self.content = "GET", None
            self.headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
        self.url = new_url
        return True

    def add_chunk(self, body: bytearray, chunk: bytes, max_bytes: int) -> None:
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(f"The response is larger than the {max_bytes // 1024} KB limit.")
        self.remaining()


async def fetch(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    content: bytes | str | None = None,
    policy: Policy = Policy(),
    secrets: Sequence[BoundSecret] = (),
    timeout_s: float = 10.0,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Response:
    """Send one request through the guard; raises `OutboundError` (or `httpx.HTTPError`)."""
    call = _Call(method, url, headers, content, secrets, timeout_s, max_redirects)
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(call, policy, max_bytes)
    except TimeoutError:
        raise DeadlineExceeded(f"No answer within {timeout_s:g} seconds.")


async def _fetch(call: _Call, policy: Policy, max_bytes: int) -> Response:
    async with httpx.AsyncClient(
        timeout=call.timeout_s, follow_redirects=False, trust_env=False, verify=tls.for_httpx()
    ) as client:
        while True:
            target = await resolve(call.url, policy)
            resp = await client.send(call.request(client, target), stream=True)
            try:
                if call.follow(resp):
                    continue
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    call.add_chunk(body, chunk, max_bytes)
                return Response(resp.status_code, resp.headers, bytes(body), call.url)
            finally:
                await resp.aclose()


def fetch_sync(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    content: bytes | str | None = None,
    policy: Policy = Policy(),
    secrets: Sequence[BoundSecret] = (),
    timeout_s: float = 10.0,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Response:
    """`fetch` for synchronous code (Celery tasks). Each step gets what is left of the deadline."""
    call = _Call(method, url, headers, content, secrets, timeout_s, max_redirects)
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False, verify=tls.for_httpx()) as client:
        while True:
            target = resolve_sync(call.url, policy)
            resp = client.send(call.request(client, target), stream=True)
            try:
                if call.follow(resp):
                    continue
                body = bytearray()
                for chunk in resp.iter_bytes():
                    call.add_chunk(body, chunk, max_bytes)
                return Response(resp.status_code, resp.headers, bytes(body), call.url)
            finally:
                resp.close()
