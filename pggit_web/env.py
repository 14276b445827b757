"""Typed readers for settings that come from the environment.

Each helper fails loudly (``ImproperlyConfigured``) on a value it cannot read, naming the
variable and the value, instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = environ.get(name, "")
    return value if value != "" else default


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(name, "").strip()
    if value == "":
        return default
    lowered = value.lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of {sorted(TRUE_VALUES | FALSE_VALUES)}"
    )


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    value = environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list; blank items are an error (a stray comma is usually a typo)."""
    value = environ.get(name, "").strip()
    if value == "":
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name}={value!r} has an empty item")
    return items


# --- pgGit's own files and the generated SECRET_KEY ------------------------------------------

SECRET_KEY_FILE = "secret_key"
SECRET_KEY_MIN_LENGTH = 50  # what Django's deploy check (security.W009) asks for


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder for files pgGit generates: ``PGGIT_DATA_DIR``, default ``~/.pggit`` (the folder
    that also holds the embedded PostgreSQL's data, ``~/.pggit/embedded-pg18``)."""
    value = env_str("PGGIT_DATA_DIR", None, environ)
    if value is not None:
        return Path(value).expanduser()
    try:
        return Path.home() / ".pggit"
    except RuntimeError as e:  # no HOME and no password entry
        raise ImproperlyConfigured(f"PGGIT_DATA_DIR is not set and there is no home folder ({e})") from None


def secret_key(environ: Mapping[str, str] = os.environ) -> str:
    """``SECRET_KEY`` from the environment, else the key kept in ``<data dir>/secret_key``.

    That file is generated once (``secrets.token_urlsafe``, mode 0600) and read on every later
    start, so sessions and password reset links survive restarts. There is no built-in key: a
    file that cannot be created or read, that others may read, or that holds too short a key
    stops the app with a message naming SECRET_KEY.
    """
    value = env_str("SECRET_KEY", None, environ)
    if value is not None:
        return value
    return generated_secret(data_dir(environ) / SECRET_KEY_FILE)


def _read_secret(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and its file {path} may be read by other users (mode {mode:o}): "
            f"run `chmod 600 {path}`, or set SECRET_KEY")
    key = path.read_text().strip()
    if len(key) < SECRET_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and its file {path} holds a key shorter than {SECRET_KEY_MIN_LENGTH} "
            "characters: delete the file to have a new key generated, or set SECRET_KEY")
    return key


def generated_secret(path: Path) -> str:
    """The key in ``path``, generated there first (mode 0600) when the file does not exist.

    Two processes starting at once agree on one key: each writes its own key to a private
    temporary file and hard-links it to ``path``, which fails for all but the first; the others
    read what the first wrote.
    """
    try:
        try:
            return _read_secret(path)
        except FileNotFoundError:
            pass
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50) + "\n")
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
        return _read_secret(path)
    except OSError as e:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and its file {path} cannot be created or read ({e.strerror or e}): "
            "set SECRET_KEY, or PGGIT_DATA_DIR to a folder this user may write") from None


def env_header(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """An HTTP request header name (``X-Forwarded-Proto``) as Django's ``request.META`` key
    (``HTTP_X_FORWARDED_PROTO``), or None when unset."""
    value = env_str(name, None, environ)
    if value is None:
        return None
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]+", value):
        raise ImproperlyConfigured(f"{name}={value!r} is not an HTTP header name (such as X-Forwarded-Proto)")
    return "HTTP_" + value.upper().replace("-", "_")
