#!/usr/bin/env python3
"""Set up a fresh machine and run pgGit: the README's two commands.

    python3 dev.py run            # start the web app on http://127.0.0.1:8000
    python3 dev.py test [ARGS]    # run the whole test suite (ARGS go to pytest), on
                                  # pytest-xdist workers (PGGIT_TEST_WORKERS, default 3)

Both first make sure that ``.venv`` exists, built with Python 3.12 or newer (Django 6 needs
it), and that it holds what ``requirements.txt`` pins. pip runs only when requirements.txt (or
the interpreter) changed since the last install: a hash of both is kept in ``.venv``.

Runs with any python3 >= 3.8 and the standard library only.
"""

import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
REQUIREMENTS = os.path.join(ROOT, "requirements.txt")
HASH_FILE = os.path.join(VENV, ".requirements.sha256")
MIN_PYTHON = (3, 12)

# The browser tests (tests/browser) drive Debian's Chromium through Playwright.
CHROMIUM = "/usr/bin/chromium"
BROWSER_TESTS = os.path.join(ROOT, "tests", "browser")

# pytest's exit code when it collected no test; a test run that ran nothing is a failure here.
PYTEST_NO_TESTS_COLLECTED = 5

# `dev.py test` runs the tests on this many pytest-xdist workers (pytest.ini: --dist loadgroup)
# unless the arguments choose (-n/--numprocesses, -p no:xdist) or ask for something a worker
# cannot do (-s, --pdb, --trace). PGGIT_TEST_WORKERS overrides it (0: one process, no xdist).
# Each worker has its own databases (see tests/conftest.py); the tests wait on PostgreSQL as
# much as on the CPU, so there are more workers than the 2 cores CI has.
DEFAULT_TEST_WORKERS = "3"


class BootstrapError(Exception):
    """The environment cannot be set up; the message says what to do."""


def log(message):
    print("dev.py: " + message, file=sys.stderr, flush=True)


def python_version(executable):
    """Return (major, minor) of an interpreter, or None if it does not run.

    pyenv shims exist on PATH for versions that are installed but not selected; they fail
    when run, so every candidate is asked for its version rather than trusted by its name.
    """
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor = out.stdout.strip().split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def _which_all(name):
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append(path)
    return found


def _version_key(path):
    """Sort key for pyenv folders such as .../versions/3.13.0/bin/python3.13 (newest first)."""
    parts = os.path.basename(os.path.dirname(os.path.dirname(path))).split(".")
    key = []
    for part in parts:
        key.append(int(part) if part.isdigit() else -1)
    return key


def candidate_pythons():
    """Interpreters to try, in order: PATH (newest first), then pyenv installs (newest first)."""
    candidates = []
    for minor in (14, 13, 12):
        candidates.extend(_which_all("python3.%d" % minor))
    pyenv_roots = ["/root/.pyenv", os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for root in pyenv_roots:
        if not root:
            continue
        pattern = os.path.join(root, "versions", "3.*", "bin", "python3.*")
        found = [p for p in glob.glob(pattern) if re.match(r"python3\.\d+$", os.path.basename(p))]
        candidates.extend(sorted(found, key=_version_key, reverse=True))
    unique = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def find_python(candidates=None, minimum=MIN_PYTHON):
    """Return the first candidate interpreter that runs and is at least ``minimum``."""
    if candidates is None:
        candidates = candidate_pythons()
    for path in candidates:
        version = python_version(path)
        if version is not None and version >= minimum:
            return path
    raise BootstrapError(
        "no Python %d.%d or newer found (looked for python3.14, python3.13, python3.12 on PATH "
        "and in ~/.pyenv/versions). Install one (e.g. `pyenv install 3.12`) and run again."
        % minimum
    )


def venv_python(venv=VENV):
    return os.path.join(venv, "bin", "python")


def requirements_hash(requirements=REQUIREMENTS, interpreter_version=None):
    digest = hashlib.sha256()
    with open(requirements, "rb") as f:
        digest.update(f.read())
    if interpreter_version is not None:
        digest.update(("\npython %d.%d" % interpreter_version).encode())
    return digest.hexdigest()


def requirements_changed(hash_file, current_hash):
    """True when the stored hash is missing or differs from ``current_hash``."""
    try:
        with open(hash_file) as f:
            return f.read().strip() != current_hash
    except OSError:
        return True


def ensure_venv(venv=VENV, requirements=REQUIREMENTS):
    """Create ``venv`` with Python >= 3.12 if needed and install requirements when they changed."""
    python = venv_python(venv)
    version = python_version(python) if os.path.exists(python) else None
    if version is None or version < MIN_PYTHON:
        base = find_python()
        if os.path.exists(venv):
            log("%s is missing or older than Python %d.%d; rebuilding it" % ((venv,) + MIN_PYTHON))
            import shutil

            shutil.rmtree(venv)
        log("creating %s with %s" % (venv, base))
        subprocess.check_call([base, "-m", "venv", venv])
        version = python_version(python)
        if version is None:
            raise BootstrapError("the new virtualenv's python does not run: %s" % python)

    current = requirements_hash(requirements, version)
    hash_file = os.path.join(venv, ".requirements.sha256")
    if requirements_changed(hash_file, current):
        log("installing %s" % os.path.relpath(requirements, ROOT))
        subprocess.check_call(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", requirements]
        )
        with open(hash_file, "w") as f:
            f.write(current + "\n")
    return python


def pytest_exit_code(code):
    """Map pytest's exit code to ours: 'no tests collected' (5) is a failure, not a pass."""
    if code == PYTEST_NO_TESTS_COLLECTED:
        return 1
    return code


def call(cmd, env=None):
    """Run ``cmd`` in ROOT (with environment ``env``, default ours) and return its exit code.

    A SIGTERM sent to dev.py is passed on, so stopping dev.py stops the server or test run.
    Ctrl-C reaches the child from the terminal by itself (same process group): we wait for it.
    """
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)

    def forward(signum, frame):
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def server_environment(environ):
    """The environment of the server ``run`` starts: ours, with DEBUG on unless it is set.

    The app's own default is DEBUG off; this local development server turns it on (detailed error
    pages, static files served, mail printed on this terminal). DEBUG=false keeps it off.
    """
    env = dict(environ)
    if not env.get("DEBUG", "").strip():
        env["DEBUG"] = "true"
    return env


def run(args):
    python = ensure_venv()
    return call([python, "manage.py", "runapp"] + list(args), env=server_environment(os.environ))


def _runs_browser_tests(args):
    """Whether a pytest run with ``args`` may collect tests/browser: no path given, or a path
    that contains it or lies inside it (paths are relative to ROOT, where pytest runs)."""
    paths = []
    for arg in args:
        path = os.path.join(ROOT, arg.split("::", 1)[0])
        if not arg.startswith("-") and os.path.exists(path):
            paths.append(os.path.normpath(path))
    if not paths:
        return True
    return any(BROWSER_TESTS.startswith(p.rstrip(os.sep) + os.sep) or p == BROWSER_TESTS
               or p.startswith(BROWSER_TESTS + os.sep) for p in paths)


def ensure_chromium(args):
    """Install Chromium with apt-get when the browser tests will run and it is missing, if we
    are root on a machine with apt-get. Otherwise the browser tests fail and say how."""
    if os.path.exists(CHROMIUM) or not _runs_browser_tests(args):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        log("%s is missing and we are not root with apt-get: the browser tests will fail "
            "(install it with `sudo apt-get install chromium chromium-driver`)" % CHROMIUM)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        log("%s is missing (the browser tests need it): running %s" % (CHROMIUM, " ".join(cmd)))
        if subprocess.call(cmd, env=env) != 0:
            log("`%s` failed: the browser tests will fail" % " ".join(cmd))
            return


def _redis_answers(host, port, timeout=1.0):
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(environ):
    """The tests use a real Redis as the channel layer (PGGIT_TEST_REDIS_URL, else REDIS_URL,
    else redis://127.0.0.1:6379/0). When that is the local default and nothing answers there,
    start redis-server (if installed) on it, in memory only; otherwise the tests of live
    events fail and say so."""
    if environ.get("PGGIT_TEST_REDIS_URL") or environ.get("REDIS_URL"):
        return
    if _redis_answers("127.0.0.1", 6379):
        return
    server = shutil.which("redis-server")
    if server is None:
        log("no Redis answers on 127.0.0.1:6379 and redis-server is not installed: the live event "
            "tests will fail (install it with `sudo apt-get install redis-server`, or set PGGIT_TEST_REDIS_URL)")
        return
    log("starting redis-server on 127.0.0.1:6379 for the tests (in memory only)")
    subprocess.call([server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                     "--appendonly", "no", "--dir", "/tmp"])
    for _ in range(50):
        if _redis_answers("127.0.0.1", 6379):
            return
        import time

        time.sleep(0.1)
    log("redis-server did not start: the live event tests will fail")


def _chooses_workers(args):
    """Whether pytest ``args`` already say how to distribute, or need a single process."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-s", "--capture=no", "--pdb", "--trace") or arg.startswith("--pdbcls"):
            return True
        if arg in ("-n", "--numprocesses", "--maxprocesses") or re.match(
                r"-n\S|--numprocesses=|--maxprocesses=", arg):
            return True
        if arg == "-p" and i + 1 < len(args) and args[i + 1] == "no:xdist" or arg == "-pno:xdist":
            return True
    return False


def worker_count(environ):
    """The -n value for a test run: PGGIT_TEST_WORKERS (a count, or auto/logical) or the default."""
    value = environ.get("PGGIT_TEST_WORKERS", "").strip() or DEFAULT_TEST_WORKERS
    if not (value.isdigit() or value in ("auto", "logical")):
        raise BootstrapError("PGGIT_TEST_WORKERS must be a number of workers (0: no xdist), auto or "
                             "logical, not %r" % value)
    return value


def pytest_command(python, args, environ):
    """``python -m pytest ARGS``, on worker_count() xdist workers unless ARGS choose (see
    _chooses_workers) or the count is 0."""
    args = list(args)
    if not _chooses_workers(args):
        workers = worker_count(environ)
        if workers != "0":
            args = ["-n", workers] + args
    return [python, "-m", "pytest"] + args


def test(args):
    python = ensure_venv()
    ensure_chromium(args)
    ensure_redis(os.environ)
    code = call(pytest_command(python, args, os.environ))
    if code == PYTEST_NO_TESTS_COLLECTED:
        log("pytest collected no tests: failing the run")
    return pytest_exit_code(code)


USAGE = """usage: python3 dev.py run [--addrport HOST:PORT]
       python3 dev.py test [PYTEST ARGS]"""


def main(argv):
    if len(argv) < 1 or argv[0] not in ("run", "test"):
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            return run(rest)
        return test(rest)
    except BootstrapError as e:
        log("error: %s" % e)
        return 1
    except subprocess.CalledProcessError as e:
        log("error: command failed with exit code %d: %s" % (e.returncode, " ".join(e.cmd)))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
