"""The API against its own OpenAPI schema: schemathesis's command line (``st run``) against the app
served by pytest-django's live server (the test database, a throwaway repository), with a
maintainer's personal access token, over every operation of ``/api/v1/schema/``, through the
examples, coverage, fuzzing and stateful phases (links inferred from the schema: an id a response
gives is used by the operations that take it).

It must find no server error (5xx) and no response outside the schema (body, status code,
content type). Bounded in time: ``PGGIT_SCHEMATHESIS_MAX_EXAMPLES`` cases at most per operation
and phase (default 10: some 1,900 cases, two to two and a half minutes on two cores),
``PGGIT_SCHEMATHESIS_TIMEOUT`` seconds at most for the whole run (default 420).

The command line runs in a subprocess rather than through schemathesis's pytest plugin, which
pytest.ini keeps from loading (``-p no:schemathesis``): the plugin hooks every test of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from merges import actions as merge_actions
from monitoring.alerts import raise_alert
from monitoring.models import Alert
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: a positive whole number")
    return int(value)


def st_command() -> list[str]:
    """schemathesis's command line of this interpreter's environment (requirements.txt)."""
    beside = Path(sys.executable).with_name("st")
    found = str(beside) if beside.is_file() else shutil.which("st")
    if not found:
        pytest.fail("schemathesis is not installed: python3 dev.py test installs requirements.txt "
                    "(or: .venv/bin/pip install -r requirements.txt)", pytrace=False)
    return [found]


@pytest.fixture
def fuzzed_repo(repo, author, settings):
    """The web tests' repository with a merge request !1 whose source and target both changed
    ``public.widgets`` (a conflict to list, open, resolve and abort), rows on the live table (data
    loss to refuse), an alert (to acknowledge and resolve), and a budget of requests that the run does not exhaust."""
    settings.PGGIT_API_THROTTLE_RATE = settings.PGGIT_API_ANON_THROTTLE_RATE = "1000000/min"
    with Client(repo.dsn) as client:
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text", "Shades")
        client.create_branch("scratch")  # the branch that DELETE branches/{name}/ may delete
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.widgets ADD COLUMN shade integer")
        conn.execute("INSERT INTO public.widgets VALUES (1, 'bolt', 12, 3)")
    mr = merge_actions.open_merge_request(author, repo, source="feature-colors", target="main",
                                          title="Shades", description="Widgets get a shade")
    raise_alert(repo, "merge_failed", "merge_failed:main", "Merge of feature-colors into main failed",
                merge_request=mr)
    return repo, mr


def test_api_has_no_server_error_and_no_response_outside_its_schema(live_server, fuzzed_repo, maintainer,
                                                                      make_token, tmp_path):
    repo, mr = fuzzed_repo
    token = make_token(maintainer, [repo])
    with Client(repo.dsn) as client:
        head = client.resolve("main")
    max_examples = env_int("PGGIT_SCHEMATHESIS_MAX_EXAMPLES", 10)
    timeout = env_int("PGGIT_SCHEMATHESIS_TIMEOUT", 420)
    # path parameters pinned to what exists, so that operations reach the engine rather than a 404
    # Path parameters pinned to what exists, so that operations reach the engine rather than a 404;
    # refs in queries and bodies are existing ones most of the time, generated ones otherwise.
    refs = '{ dictionary = "refs", probability = 0.7 }'
    (tmp_path / "schemathesis.toml").write_text(
        "[dictionaries.refs]\n"
        f"values = {json.dumps(['main', 'feature-colors', 'scratch', head])}\n"
        "\n[parameters]\n"
        f"slug = {json.dumps(repo.slug)}\n"
        f"number = {mr.number}\n"
        f"commit_id = {json.dumps(head)}\n"
        'name = "scratch"\n'
        f"alert_id = {Alert.objects.get(repository=repo).pk}\n"
        'kind = "drift"\n'
        'pattern = "main"\n'
        + "".join(f'"{where}" = {refs}\n' for where in (
            "query.from", "query.to", "query.ref", "body.from_ref", "body.source", "body.target", "body.branch"))
        + "\n[phases.stateful]\nmax-steps = 6\n"
        "\n[phases.stateful.inference]\nalgorithms = [\"location-headers\", \"dependency-analysis\"]\n")
    report = tmp_path / "report.json"
    command = st_command() + [
        "--config-file", str(tmp_path / "schemathesis.toml"), "--no-color",
        "run", f"{live_server.url}/api/v1/schema/", "--url", live_server.url,
        "-H", f"Authorization: Bearer {token}",
        "--checks", CHECKS, "--max-examples", str(max_examples), "--workers", "2", "--seed", "12",
        "--phases", "examples,coverage,fuzzing,stateful", "--generation-database", "none",
        "--request-timeout", "60", "--report", "json", "--report-json-path", str(report),
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                             env={**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"})
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis took more than {timeout} s:\n{(exc.stdout or b'')[-4000:]!r}", pytrace=False)
    output = run.stdout + run.stderr
    print(output[-6000:])
    assert run.returncode == 0, output[-12000:]
    assert report.is_file(), output[-4000:]
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    print(f"schemathesis: {summary['operations']['tested']} operations, {cases['generated']} cases "
          f"in {summary['running_time']:.0f} s")
    assert summary["failures"] == [] and summary["errors"] == [], json.dumps(summary["failures"] + summary["errors"])[:8000]
    assert cases["with_failures"] == 0 and cases["errored"] == 0, cases
    # every operation of the app's own schema, through every phase that has something to run
    assert summary["operations"]["total"] == summary["operations"]["tested"] == len(schema_operations(live_server.url))
    assert {name: p["status"] for name, p in summary["phases"].items() if name != "examples"} == {
        "coverage": "success", "fuzzing": "success", "stateful": "success"}
    assert cases["generated"] >= 20 * summary["operations"]["total"], cases


def schema_operations(base_url: str) -> list[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI schema."""
    import requests

    schema = requests.get(f"{base_url}/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"},
                          timeout=30).json()
    methods = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
    return [(m.upper(), path) for path, item in schema["paths"].items() for m in item if m in methods]
