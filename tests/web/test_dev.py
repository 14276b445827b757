"""dev.py, the bootstrap behind the README's two commands."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev():
    spec = importlib.util.spec_from_file_location("pggit_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_tests_collected_is_a_failure(dev):
    assert dev.pytest_exit_code(5) != 0


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4])
def test_other_pytest_exit_codes_pass_through(dev, code):
    assert dev.pytest_exit_code(code) == code


def fake_python(path: Path, script: str) -> str:
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)


def test_find_python_skips_broken_shims_and_old_versions(dev, tmp_path):
    shim = fake_python(tmp_path / "python3.13", "echo 'pyenv: python3.13: command not found' >&2; exit 127")
    old = fake_python(tmp_path / "python3.11", "echo 3.11")
    good = fake_python(tmp_path / "python3.12", "echo 3.12")
    newer = fake_python(tmp_path / "python3.14", "echo 3.14")
    missing = str(tmp_path / "nope")
    assert dev.find_python([missing, shim, old, good, newer]) == good


def test_find_python_fails_loudly_without_a_recent_python(dev, tmp_path):
    old = fake_python(tmp_path / "python3.11", "echo 3.11")
    with pytest.raises(dev.BootstrapError, match=r"no Python 3\.12 or newer found"):
        dev.find_python([old])


def test_candidates_include_this_interpreter_family(dev):
    versions = [dev.python_version(p) for p in dev.candidate_pythons()]
    assert any(v is not None and v >= (3, 12) for v in versions)


def test_requirements_hash_changes_with_the_file_and_the_interpreter(dev, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("Django==6.1.3\n")
    first = dev.requirements_hash(str(req), (3, 12))
    assert dev.requirements_hash(str(req), (3, 13)) != first
    hash_file = tmp_path / "hash"
    assert dev.requirements_changed(str(hash_file), first)  # nothing stored yet
    hash_file.write_text(first + "\n")
    assert not dev.requirements_changed(str(hash_file), first)
    req.write_text("Django==6.1.4\n")
    assert dev.requirements_changed(str(hash_file), dev.requirements_hash(str(req), (3, 12)))


def test_dev_test_command_fails_when_pytest_collects_nothing():
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "dev.py", "test", "tests/web/test_dev.py", "-k", "no_test_is_named_like_this", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert "pytest collected no tests" in result.stderr


@pytest.mark.parametrize("args, environ, expected", [
    ([], {}, ["-n", "3"]),  # the whole suite on pytest-xdist workers (pytest.ini: --dist loadgroup)
    (["tests/web", "-x"], {}, ["-n", "3", "tests/web", "-x"]),
    ([], {"PGGIT_TEST_WORKERS": "4"}, ["-n", "4"]),
    ([], {"PGGIT_TEST_WORKERS": "0"}, []),  # one process
    (["-n", "2"], {}, ["-n", "2"]),
    (["-nauto"], {}, ["-nauto"]),
    (["-p", "no:xdist"], {}, ["-p", "no:xdist"]),
    (["-s", "tests/web"], {}, ["-s", "tests/web"]),  # output and debuggers need one process
    (["--pdb"], {}, ["--pdb"]),
])
def test_test_command_runs_on_workers_unless_told_otherwise(dev, monkeypatch, args, environ, expected):
    monkeypatch.setattr(dev, "DEFAULT_TEST_WORKERS", "3")
    assert dev.pytest_command("/venv/python", args, environ) == ["/venv/python", "-m", "pytest"] + expected


def test_a_worker_count_that_is_not_one_is_refused(dev):
    with pytest.raises(dev.BootstrapError, match="PGGIT_TEST_WORKERS"):
        dev.pytest_command("/venv/python", [], {"PGGIT_TEST_WORKERS": "many"})


def test_dev_without_a_command_prints_usage(dev, capsys):
    assert dev.main([]) == 2
    assert "usage: python3 dev.py run" in capsys.readouterr().err


@pytest.mark.parametrize("environ, debug", [({}, "true"), ({"DEBUG": ""}, "true"), ({"DEBUG": "false"}, "false"),
                                            ({"DEBUG": "0"}, "0")])
def test_run_turns_debug_on_unless_it_is_set(dev, environ, debug):
    env = dev.server_environment({"PATH": "/bin", **environ})
    assert env["DEBUG"] == debug
    assert env["PATH"] == "/bin"


def test_run_starts_the_server_with_that_environment(dev, monkeypatch):
    started = []
    monkeypatch.setattr(dev, "ensure_venv", lambda: "/venv/python")
    monkeypatch.setattr(dev, "call", lambda cmd, env=None: started.append((cmd, env)) or 0)
    monkeypatch.delenv("DEBUG", raising=False)
    assert dev.run(["--addrport", "127.0.0.1:9000"]) == 0
    (cmd, env), = started
    assert cmd == ["/venv/python", "manage.py", "runapp", "--addrport", "127.0.0.1:9000"]
    assert env["DEBUG"] == "true"
    monkeypatch.setenv("DEBUG", "off")
    dev.run([])
    assert started[-1][1]["DEBUG"] == "off"


def test_redis_is_found_by_its_answer_to_ping(dev):
    import socket

    assert dev._redis_answers("127.0.0.1", 6379)  # the Redis the tests use (.ci/run starts it)
    with socket.socket() as idle:  # something listening that is not Redis
        idle.bind(("127.0.0.1", 0))
        idle.listen()
        assert not dev._redis_answers("127.0.0.1", idle.getsockname()[1], timeout=0.3)


def test_ensure_redis_leaves_a_configured_redis_alone(dev, monkeypatch):
    started = []
    monkeypatch.setattr(dev.subprocess, "call", lambda *a, **k: started.append(a) or 0)
    dev.ensure_redis({"PGGIT_TEST_REDIS_URL": "redis://elsewhere:6379/3"})
    dev.ensure_redis({})  # the local default answers already
    assert started == []
