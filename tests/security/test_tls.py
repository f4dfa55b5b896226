"""The TLS contexts shared by the platform's outgoing connections (config.tls) still verify the
vendor's certificate and host name: built once per process, they must not be weaker than the
per-connection defaults they replace."""

from __future__ import annotations

import ssl

import pytest

from config import tls


@pytest.mark.parametrize("build", [tls.for_httpx, tls.for_httpx2, tls.for_websockets])
def test_shared_tls_contexts_verify_certificates_and_host_names(build):
    context = build()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert build() is context  # built once, shared
