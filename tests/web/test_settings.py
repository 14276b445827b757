"""Settings read from the environment: URL parsing and typed helpers fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pggit_web.dbconfig import configure_database, database_url, ensure_database, parse_database_url
from pggit_web.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_tcp_url_with_credentials_port_and_options_is_parsed():
    config = parse_database_url(
        "postgresql://alice:s%40cr%3At@db.example.com:6543/shop?sslmode=require&application_name=pggit"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "shop"
    assert config["USER"] == "alice"
    assert config["PASSWORD"] == "s@cr:t"
    assert config["HOST"] == "db.example.com"
    assert config["PORT"] == 6543
    assert config["OPTIONS"] == {"sslmode": "require", "application_name": "pggit"}


def test_url_without_port_or_password_leaves_them_empty():
    config = parse_database_url("postgres://postgres@127.0.0.1/postgres")
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == ("postgres", "", "127.0.0.1", "")


def test_unix_socket_in_query_is_parsed_with_case_kept():
    config = parse_database_url("postgresql://postgres:@/pggit_web?host=/Root/.pggit/Embedded-pg18&port=5433")
    assert config["HOST"] == "/Root/.pggit/Embedded-pg18"
    assert config["PORT"] == 5433
    assert config["NAME"] == "pggit_web"
    assert config["USER"] == "postgres"
    assert config["OPTIONS"] == {}


def test_percent_encoded_socket_host_is_parsed():
    config = parse_database_url("postgresql://%2Fvar%2Frun%2Fpostgresql/app")
    assert config["HOST"] == "/var/run/postgresql"
    assert config["NAME"] == "app"


def test_ipv6_host_with_port_is_parsed():
    config = parse_database_url("postgresql://u@[::1]:5433/app")
    assert (config["HOST"], config["PORT"]) == ("::1", 5433)


def test_percent_encoded_database_name_is_decoded():
    assert parse_database_url("postgresql://u@h/my%20db")["NAME"] == "my db"


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u@h/db", "scheme"),
        ("127.0.0.1:5432/db", "scheme"),
        ("postgresql://u@h", "no database name"),
        ("postgresql://u@h/", "no database name"),
        ("postgresql://u@h:abc/db", "not a number"),
        ("postgresql://u@h:70000/db", "out of range"),
        ("postgresql://u@h/db?port=x1", "not a number"),
        ("postgresql://u@h/db?sslmod=require", "unknown connection option 'sslmod'"),
        ("postgresql://u@h1,h2/db", "several hosts"),
        ("postgresql://u@h/a/b", "contains '/'"),
        ("postgresql://u@[::1/db", "bad host"),
        ("postgresql://u@h/db#frag", "fragment"),
    ],
)
def test_bad_database_url_raises(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url(url)


def test_error_message_does_not_show_the_password():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url("postgresql://alice:hunter2@h:bad/db")
    assert "hunter2" not in str(excinfo.value)
    assert "alice:***@" in str(excinfo.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:p%40ss%2Fw@db.example.com:6543/shop?sslmode=require",
        "postgresql://postgres:@/pggit_web?host=/root/.pggit/embedded-pg18",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://u@[::1]:5433/app",
    ],
)
def test_database_url_round_trips_through_the_parser(url):
    config = parse_database_url(url)
    assert parse_database_url(database_url(config)) == config


def test_database_url_points_at_another_database_on_the_same_server():
    config = parse_database_url("postgresql://postgres:@/pggit_web?host=/tmp/pg&port=5433")
    other = parse_database_url(database_url(config, "pggit_demo"))
    assert other == {**config, "NAME": "pggit_demo"}


def test_configure_database_uses_database_url_when_set():
    config = configure_database({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/somedb"})
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("127.0.0.1", 5432, "somedb")


def test_configure_database_rejects_a_bad_database_url():
    with pytest.raises(ImproperlyConfigured):
        configure_database({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432"})


def test_ensure_database_creates_once(server, throwaway_dbname, db_exists):
    assert not db_exists(throwaway_dbname)
    assert ensure_database(server, throwaway_dbname) is True
    assert db_exists(throwaway_dbname)
    assert ensure_database(server, throwaway_dbname) is False


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False), ("", None)])
def test_env_bool_reads_common_spellings(value, expected):
    default = object()
    result = env_bool("X", default, {"X": value})
    assert result is (default if expected is None else expected)


def test_env_bool_rejects_other_values():
    with pytest.raises(ImproperlyConfigured, match="X='maybe' is not a boolean"):
        env_bool("X", False, {"X": "maybe"})


def test_env_int_and_list_and_str():
    assert env_int("N", 3, {"N": " 42 "}) == 42
    assert env_int("N", 3, {}) == 3
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 3, {"N": "4x"})
    assert env_list("H", ["a"], {"H": "x.example, y.example"}) == ["x.example", "y.example"]
    assert env_list("H", ["a"], {}) == ["a"]
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("H", [], {"H": "x.example,,y.example"})
    assert env_str("S", "d", {"S": ""}) == "d"
    assert env_str("S", "d", {"S": "v"}) == "v"


def load_settings(**env):
    """Import the settings module in a fresh interpreter with ``env``; (returncode, output)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    environ.update(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/unused", **env)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'pggit_web.settings'; django.setup();"
        "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.SECRET_KEY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout + result.stderr


def test_settings_require_secret_key_when_debug_is_off():
    code, output = load_settings(DEBUG="0")
    assert code != 0
    assert "SECRET_KEY must be set when DEBUG is off" in output


def test_settings_refuse_a_bad_debug_value():
    code, output = load_settings(DEBUG="maybe")
    assert code != 0
    assert "DEBUG='maybe' is not a boolean" in output


def test_settings_read_production_values():
    code, output = load_settings(DEBUG="false", SECRET_KEY="k" * 50, ALLOWED_HOSTS="pggit.example.com")
    assert code == 0, output
    assert output.strip().splitlines()[-1] == f"False ['pggit.example.com'] {'k' * 50}"
