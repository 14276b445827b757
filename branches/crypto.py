"""Secrets at rest: repository connection URLs and console passwords are stored encrypted.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) with keys derived from Django's
``SECRET_KEY`` by HKDF-SHA256 (salt and info fixed to this purpose, so the derived key is useless
for anything else Django signs). ``SECRET_KEY_FALLBACKS`` give more keys for decrypting only: to
rotate, put the old key in the fallbacks, set the new ``SECRET_KEY``, run ``manage.py
reencrypt_secrets``, then drop the old key. The database column holds only the Fernet token.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_SALT = b"pggit-secrets-at-rest"
_INFO = b"branches.Repository connection URL and console password, v1"
TOKEN_PREFIX = "gAAAAA"  # every Fernet token (version byte 0x80, then a 64-bit timestamp) starts so


def derive_key(secret: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) derived from ``secret`` with HKDF-SHA256."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=4)
def _fernet(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(derive_key(k)) for k in (secret, *fallbacks)])


def fernet() -> MultiFernet:
    """Encrypts with the key from SECRET_KEY; decrypts with it or any of SECRET_KEY_FALLBACKS."""
    return _fernet(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ()))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError):
        raise ImproperlyConfigured(
            "a stored repository secret cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS: "
            "start the app with the key that encrypted it (see docs/web.md, 'Secrets at rest')") from None


def is_token(value: str) -> bool:
    """Whether ``value`` decrypts with the configured keys (plaintext, or another key's token, do not)."""
    try:
        fernet().decrypt(value.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token; Python code reads and writes the plaintext.

    The empty string stays empty (a blank optional secret is visibly blank). Tokens are random:
    the field cannot be filtered on."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
