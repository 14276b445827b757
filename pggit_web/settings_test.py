"""Settings of the test run (pytest.ini): the project's settings, except that plain HTTP is not
redirected to HTTPS unless SECURE_SSL_REDIRECT says so (Django's test client and live server
speak plain HTTP). Tests of the production defaults load ``pggit_web.settings`` in a subprocess."""

from pggit_web.env import env_bool
from pggit_web.settings import *  # noqa: F401,F403

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
