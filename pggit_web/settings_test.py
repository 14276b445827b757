"""Settings of the test run (pytest.ini): the project's settings, except that plain HTTP is not
redirected to HTTPS unless SECURE_SSL_REDIRECT says so (Django's test client and live server
speak plain HTTP). Tests of the production defaults load ``pggit_web.settings`` in a subprocess."""

from pggit_web.env import env_bool
from pggit_web.settings import *  # noqa: F401,F403

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)

# Each test process (pytest-xdist worker) has a channel layer of its own in a shared Redis: its
# repositories and merge requests have the same ids as another worker's.
import os as _os  # noqa: E402

CHANNEL_LAYER_PREFIX = f"pggit-test-{_os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{_os.getpid()}"
# The tests use the real Redis that `.ci/run` starts (PGGIT_TEST_REDIS_URL, else REDIS_URL, else
# the local default) as the channel layer: websockets and the worker's fan-out go through it.
TEST_REDIS_URL = _os.environ.get("PGGIT_TEST_REDIS_URL") or REDIS_URL or "redis://127.0.0.1:6379/0"  # noqa: F405
CHANNEL_LAYERS = {"default": redis_channel_layer(TEST_REDIS_URL, CHANNEL_LAYER_PREFIX)}  # noqa: F405
