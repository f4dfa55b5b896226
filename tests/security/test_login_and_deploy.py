"""Item: guessing an admin password is cut short, and a production configuration passes Django's
deployment checks (secure cookies, HSTS, HTTPS redirect behind the proxy, a required SECRET_KEY)."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from cryptography.fernet import Fernet

from bots.models import Membership, Workspace
from tests.bots.conftest import make_user
from tests.processes import ROOT
from tests.security.conftest import new_address

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"  # make_user's


def log_in(client: httpx.Client, username: str, password: str, address: dict) -> httpx.Response:
    form = client.get("/admin/login/", headers=address)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return client.post(
        "/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"},
        headers=address,
    )


def test_guessing_a_password_locks_that_name_out_from_that_address(security_server):
    make_user(Workspace.objects.create(slug="acme", name="Acme"), Membership.Role.OWNER, "owner")
    attacker, owner_home = new_address(), new_address()
    with httpx.Client(base_url=security_server, timeout=20) as client:
        guesses = [log_in(client, "owner", f"guess-{n}", attacker) for n in range(3)]
        right_but_locked = log_in(client, "owner", PASSWORD, attacker)
    with httpx.Client(base_url=security_server, timeout=20) as client:
        owner = log_in(client, "owner", PASSWORD, owner_home)

    # The form again with its error, until the third failure locks the name out from that address.
    assert [g.status_code for g in guesses] == [200, 200, 429]
    assert right_but_locked.status_code == 429
    assert "too many login attempts" in right_but_locked.text
    assert owner.status_code == 302 and owner.headers["location"] == "/admin/"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgres://x@localhost/x",
        "REDIS_URL": "redis://localhost:6379/0",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-key-" + "k3Y" * 20,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "PUBLIC_BASE_URL": "https://bots.example.com",
    "ALLOWED_HOSTS": "bots.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://bots.example.com",
}


def test_production_settings_pass_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout


def test_plain_http_is_redirected_to_https_unless_the_proxy_does_it():
    ask = "from django.test import Client; r = Client().get('/api/docs', HTTP_HOST='bots.example.com'); print(r.status_code, r.get('Location', ''))"
    redirected = manage("shell", "-v", "0", "-c", ask, **PRODUCTION)
    assert redirected.stdout.split() == ["301", "https://bots.example.com/api/docs"], redirected.stderr
    served = manage("shell", "-v", "0", "-c", ask, **PRODUCTION, SSL_REDIRECT="false")
    status, *location = served.stdout.split()
    assert status != "301" and not "".join(location).startswith("https://"), served.stdout + served.stderr
