"""Strict readers for environment variables, built on django-environ.

Each reader either returns a valid value or stops start-up with one line that names the
variable and says how to set it; nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ


class SettingError(SystemExit):
    """Raised (as SystemExit, so no traceback) when a variable is missing or malformed."""

    def __init__(self, name: str, problem: str, how: str):
        self.line = f"Setting {name} {problem}. {how}"
        super().__init__(f"Switchboard cannot start: {self.line}")


class Env:
    def __init__(self, var_dir: Path):
        self._env = environ.Env()
        self._var_dir = var_dir

    def _raw(self, name: str) -> str | None:
        value = os.environ.get(name)
        return value if value not in (None, "") else None

    def str(self, name: str, *, default: str) -> str:
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: str, *, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingError(name, f"is {value!r}, not a yes/no value", "Use true or false.")

    def int(self, name: str, *, default: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise SettingError(name, f"is {value!r}, not a whole number", "Use digits only, e.g. 900.") from None

    def list(self, name: str, *, default: list[str]) -> list[str]:
        value = self._raw(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def path(self, name: str, *, default: Path) -> Path:
        value = self._raw(name)
        return default if value is None else Path(value)

    def url(self, name: str, *, default: str) -> str:
        value = self._raw(name) or default
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingError(
                name,
                f"is {value!r}, not an http(s) URL",
                "Use the address people reach, e.g. https://bots.example.com.",
            )
        return value

    def database(self, name: str) -> dict:
        value = self._raw(name)
        how = (
            "Set it to a PostgreSQL URL with pgvector, e.g. postgres://user:password@db:5432/switchboard "
            "(make run and make test start an embedded server and set it for you)."
        )
        if value is None:
            raise SettingError(name, "is not set", how)
        parts = urlsplit(value)
        if parts.scheme not in ("postgres", "postgresql", "pgsql") or not parts.path.strip("/"):
            raise SettingError(name, f"is malformed ({_redact_url(value)})", how)
        try:
            config = self._env.db_url_config(value)
        except Exception:  # django-environ raises several types for a bad URL
            raise SettingError(name, f"is malformed ({_redact_url(value)})", how) from None
        config["ENGINE"] = "django.db.backends.postgresql"
        config["HOST"] = unquote(config.get("HOST") or "")  # a unix socket directory arrives %2F-quoted
        return config

    def redis_url(self, name: str) -> str:
        value = self._raw(name)
        how = (
            "Set it to a Redis URL, e.g. redis://redis:6379/0 or unix:///run/redis.sock "
            "(make run and make test start an embedded server and set it for you)."
        )
        if value is None:
            raise SettingError(name, "is not set", how)
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            raise SettingError(name, f"is malformed ({_redact_url(value)})", how)
        return value

    @staticmethod
    def celery_redis_url(redis_url: str) -> str:
        # Celery's Redis transport spells a unix socket as redis+socket://.
        if redis_url.startswith("unix://"):
            return "redis+socket://" + redis_url[len("unix://") :]
        return redis_url

    def secret(self, name: str, *, generate_into: str, allow_generate: bool) -> str:
        value = self._raw(name)
        if value is not None:
            return value
        if not allow_generate:
            raise SettingError(
                name,
                "is not set",
                'It is required when DEBUG is off; generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"',
            )
        return self._generated(generate_into, lambda: secrets.token_urlsafe(50))

    def fernet_key(self, name: str, *, generate_into: str, allow_generate: bool) -> str:
        how = 'Generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        value = self._raw(name)
        if value is None:
            if not allow_generate:
                raise SettingError(name, "is not set", "It is required when DEBUG is off. " + how)
            value = self._generated(generate_into, lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        try:
            if len(base64.urlsafe_b64decode(value.encode())) != 32:
                raise ValueError
        except ValueError:
            raise SettingError(name, "is not a valid key (32 url-safe base64 bytes)", how) from None
        return value

    def _generated(self, filename: str, make) -> str:
        path = self._var_dir / filename
        if path.exists():
            return path.read_text().strip()
        self._var_dir.mkdir(parents=True, exist_ok=True)
        value = make()
        path.write_text(value)
        path.chmod(0o600)
        print(f"Generated a local {filename.replace('_', ' ')} into {path}", file=sys.stderr)
        return value


def _redact_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.password:
        return value.replace(parts.password, "***")
    return value
