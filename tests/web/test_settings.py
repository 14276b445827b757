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


# Variables these tests set; the ones the test run happens to have are left out of the subprocess.
SETTINGS_VARIABLES = ("DEBUG", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "ALLOWED_HOSTS", "PGGIT_DATA_DIR", "SECURE_SSL_REDIRECT",
                      "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
                      "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER")


def load_settings(*names, **env):
    """Import the settings module in a fresh interpreter with ``env``; (returncode, output). It prints
    DEBUG, ALLOWED_HOSTS and SECRET_KEY, then one line per setting in ``names``."""
    environ = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environ.update(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/unused", **env)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'pggit_web.settings'; django.setup();"
        "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.SECRET_KEY);"
        f"[print(repr(getattr(settings, name))) for name in {list(names)!r}]"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout + result.stderr


def printed_key(output: str) -> str:
    return output.strip().splitlines()[-1].split()[-1]


def test_debug_is_off_unless_the_environment_turns_it_on(tmp_path):
    code, output = load_settings(PGGIT_DATA_DIR=str(tmp_path))
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("False ")
    code, output = load_settings(DEBUG="true", PGGIT_DATA_DIR=str(tmp_path))
    assert output.strip().splitlines()[-1].startswith("True ")


@pytest.mark.parametrize("debug", ["0", "1"])
def test_without_secret_key_a_key_is_generated_once_into_the_data_dir(tmp_path, debug):
    data = tmp_path / "pggit-data"
    code, output = load_settings(DEBUG=debug, PGGIT_DATA_DIR=str(data))
    assert code == 0, output
    key_file = data / "secret_key"
    key = printed_key(output)
    assert key == key_file.read_text().strip()
    assert len(key) >= 50 and "insecure" not in key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o077 == 0  # the folder it made is private too
    code, again = load_settings(DEBUG=debug, PGGIT_DATA_DIR=str(data))
    assert printed_key(again) == key  # kept: sessions and reset links survive a restart
    code, other = load_settings(DEBUG=debug, PGGIT_DATA_DIR=str(tmp_path / "elsewhere"))
    assert printed_key(other) != key  # each installation its own key, not a shared string


def test_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path):
    code, output = load_settings(DEBUG="0", SECRET_KEY="k" * 50, PGGIT_DATA_DIR=str(tmp_path / "d"))
    assert code == 0, output
    assert printed_key(output) == "k" * 50
    assert not (tmp_path / "d").exists()


def test_secret_key_fallbacks_are_read_from_the_environment(tmp_path):
    code, output = load_settings("SECRET_KEY_FALLBACKS", DEBUG="0", SECRET_KEY="n" * 50,
                                 SECRET_KEY_FALLBACKS=f"{'o' * 50},{'p' * 50}")
    assert code == 0, output
    assert output.strip().splitlines()[-1] == repr(["o" * 50, "p" * 50])
    code, output = load_settings("SECRET_KEY_FALLBACKS", DEBUG="0", SECRET_KEY="n" * 50)
    assert output.strip().splitlines()[-1] == "[]"


def test_a_key_file_other_users_may_read_stops_the_app(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("x" * 60)
    key_file.chmod(0o644)
    code, output = load_settings(DEBUG="0", PGGIT_DATA_DIR=str(tmp_path))
    assert code != 0
    assert "SECRET_KEY is not set" in output and str(key_file) in output and "chmod 600" in output


def test_a_short_key_in_the_file_stops_the_app(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("short")
    key_file.chmod(0o600)
    code, output = load_settings(DEBUG="0", PGGIT_DATA_DIR=str(tmp_path))
    assert code != 0
    assert "SECRET_KEY is not set" in output and "shorter than 50" in output


def test_a_key_file_that_cannot_be_made_stops_the_app_naming_secret_key(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, output = load_settings(DEBUG="0", PGGIT_DATA_DIR=str(blocker / "data"))
    assert code != 0
    assert "SECRET_KEY is not set" in output and "cannot be created" in output and "set SECRET_KEY" in output


def test_settings_refuse_a_bad_debug_value():
    code, output = load_settings(DEBUG="maybe")
    assert code != 0
    assert "DEBUG='maybe' is not a boolean" in output


def test_settings_read_production_values():
    code, output = load_settings(DEBUG="false", SECRET_KEY="k" * 50, ALLOWED_HOSTS="pggit.example.com")
    assert code == 0, output
    assert output.strip().splitlines()[-1] == f"False ['pggit.example.com'] {'k' * 50}"
