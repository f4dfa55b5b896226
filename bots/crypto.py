"""Encryption at rest for secrets and channel credentials (Fernet, `FIELD_ENCRYPTION_KEY`)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    return Fernet(settings.FIELD_ENCRYPTION_KEY.encode())


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def mask(plain: str) -> str:
    """What the admin and the API show instead of a secret: enough to recognise it, not to use it."""
    if len(plain) <= 8:
        return "•" * 8
    return plain[:3] + "•" * 8 + plain[-2:]
