"""Sign-in settings: django-allauth, with OpenID Connect and SAML providers switched on by
environment variables alone (README, "Sign-in").

``configure_auth()`` returns the settings as a dict; ``EXTRA_APPS`` lists the provider apps to
add to INSTALLED_APPS.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from pggit_web.env import env_bool, env_int, env_str

EMAIL_VERIFICATION_VALUES = ("none", "optional", "mandatory")

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
SAML_ATTRIBUTE_MAPPING = {
    "uid": [_CLAIMS + "nameidentifier", "urn:oasis:names:tc:SAML:attribute:subject-id"],
    "email": [_CLAIMS + "emailaddress", "urn:oid:0.9.2342.19200300.100.1.3", "email", "mail"],
    "first_name": [_CLAIMS + "givenname", "urn:oid:2.5.4.42"],
    "last_name": [_CLAIMS + "surname", "urn:oid:2.5.4.4"],
    "username": ["http://schemas.auth0.com/nickname", "urn:oid:0.9.2342.19200300.100.1.1", "uid"],
}


def _url_part(name: str, value: str) -> str:
    """A value that becomes one segment of a sign-in URL (/accounts/oidc/<id>/, /accounts/saml/<org>/)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ImproperlyConfigured(f"{name}={value!r}: use letters, digits, '-' and '_' only (it is part of a URL)")
    return value


# Environment variable -> SMTP backend option (Django 6.1 MAILERS; EMAIL_HOST etc. as settings are deprecated).
_SMTP_OPTIONS = {"EMAIL_HOST": "host", "EMAIL_HOST_USER": "username", "EMAIL_HOST_PASSWORD": "password"}
_SMTP_FLAGS = {"EMAIL_USE_TLS": "use_tls", "EMAIL_USE_SSL": "use_ssl"}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
SMTP_DEFAULT_HOST = "localhost"  # Django's EMAIL_HOST default before MAILERS: a local mail server
SMTP_DEFAULT_TIMEOUT = 10  # seconds; without one a mail server that does not answer holds the request


def configure_mailer(environ: Mapping[str, str] = os.environ, *, debug: bool = False) -> dict:
    """The default mailer (sign-up verification and password reset emails).

    ``EMAIL_BACKEND`` when set, else SMTP; ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``,
    ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS`` / ``EMAIL_USE_SSL``, ``EMAIL_TIMEOUT`` are its
    options when set. SMTP goes to ``localhost`` unless ``EMAIL_HOST`` says otherwise, and gives up
    after ``EMAIL_TIMEOUT`` (10) seconds. With ``debug`` and none of these set, mail is printed on
    the server's console instead (what ``python3 dev.py run`` gives).
    """
    options: dict = {}
    for name, option in _SMTP_OPTIONS.items():
        value = env_str(name, None, environ)
        if value is not None:
            options[option] = value
    port = env_int("EMAIL_PORT", None, environ)
    if port is not None:
        options["port"] = port
    for name, option in _SMTP_FLAGS.items():
        value = env_bool(name, None, environ)
        if value is not None:
            options[option] = value
    timeout = env_int("EMAIL_TIMEOUT", None, environ)
    if timeout is not None:
        if timeout <= 0:
            raise ImproperlyConfigured(f"EMAIL_TIMEOUT={timeout!r}: use a number of seconds above 0")
        options["timeout"] = timeout
    if options.get("use_tls") and options.get("use_ssl"):
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one")

    backend = env_str("EMAIL_BACKEND", None, environ)
    if backend is None and debug and not options:
        return {"BACKEND": CONSOLE_BACKEND}
    backend = backend or SMTP_BACKEND
    if backend == SMTP_BACKEND:
        options.setdefault("host", SMTP_DEFAULT_HOST)
        options.setdefault("timeout", SMTP_DEFAULT_TIMEOUT)
    mailer: dict = {"BACKEND": backend}
    if options:
        mailer["OPTIONS"] = options
    return mailer


def _origin(name: str, url: str) -> str:
    """``https://host[:port]`` of a URL read from variable ``name``."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ImproperlyConfigured(f"{name}={url!r} is not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def configure_auth(environ: Mapping[str, str] = os.environ, *, debug: bool = False) -> dict:
    """The sign-in settings; ``SIGN_IN_ORIGINS`` lists the identity providers' origins, which the
    Content-Security-Policy's form-action must allow (the sign-in form's POST is redirected there)."""
    verification = env_str("ACCOUNT_EMAIL_VERIFICATION", "none", environ)
    if verification not in EMAIL_VERIFICATION_VALUES:
        raise ImproperlyConfigured(
            f"ACCOUNT_EMAIL_VERIFICATION={verification!r}: use one of {', '.join(EMAIL_VERIFICATION_VALUES)}")
    settings = {
        "AUTHENTICATION_BACKENDS": [
            "django.contrib.auth.backends.ModelBackend",
            "allauth.account.auth_backends.AuthenticationBackend",
        ],
        "LOGIN_URL": "account_login",
        "LOGIN_REDIRECT_URL": "/",
        "ACCOUNT_LOGOUT_REDIRECT_URL": "/",
        "ACCOUNT_LOGIN_METHODS": {"username", "email"},
        "ACCOUNT_SIGNUP_FIELDS": ["email*", "username*", "password1*", "password2*"],
        "ACCOUNT_EMAIL_VERIFICATION": verification,
        "ACCOUNT_ALLOW_SIGNUP": env_bool("ACCOUNT_ALLOW_SIGNUP", True, environ),
        "ACCOUNT_ADAPTER": "pggit_web.auth_adapter.AccountAdapter",
        "SOCIALACCOUNT_ADAPTER": "pggit_web.auth_adapter.SocialAccountAdapter",
        "DEFAULT_FROM_EMAIL": env_str("DEFAULT_FROM_EMAIL", "pggit@localhost", environ),
        "SOCIALACCOUNT_PROVIDERS": {},
        "EXTRA_APPS": [],
        "SIGN_IN_ORIGINS": [],
    }
    settings["MAILERS"] = {"default": configure_mailer(environ, debug=debug)}
    providers = settings["SOCIALACCOUNT_PROVIDERS"]

    oidc_url = env_str("OIDC_SERVER_URL", None, environ)
    if oidc_url:
        client_id = env_str("OIDC_CLIENT_ID", None, environ)
        if not client_id:
            raise ImproperlyConfigured("OIDC_SERVER_URL is set but OIDC_CLIENT_ID is not")
        providers["openid_connect"] = {
            "APPS": [{
                "provider_id": _url_part("OIDC_PROVIDER_ID", env_str("OIDC_PROVIDER_ID", "oidc", environ)),
                "name": env_str("OIDC_PROVIDER_NAME", "Single sign-on", environ),
                "client_id": client_id,
                "secret": env_str("OIDC_CLIENT_SECRET", "", environ),
                "settings": {"server_url": oidc_url},
            }],
        }
        settings["EXTRA_APPS"].append("allauth.socialaccount.providers.openid_connect")
        settings["SIGN_IN_ORIGINS"].append(_origin("OIDC_SERVER_URL", oidc_url))

    saml_metadata = env_str("SAML_IDP_METADATA_URL", None, environ)
    if saml_metadata:
        entity_id = env_str("SAML_IDP_ENTITY_ID", None, environ)
        if not entity_id:
            raise ImproperlyConfigured("SAML_IDP_METADATA_URL is set but SAML_IDP_ENTITY_ID is not")
        providers["saml"] = {
            "APPS": [{
                "name": env_str("SAML_PROVIDER_NAME", "SAML sign-on", environ),
                "provider_id": entity_id,
                "client_id": _url_part("SAML_ORGANIZATION", env_str("SAML_ORGANIZATION", "pggit", environ)),
                "settings": {
                    # Each key lists attribute names tried in order (allauth takes the first
                    # present): the ADFS / Entra ID claim URIs, then the OASIS / LDAP OIDs most
                    # other IdPs send. Without a uid attribute allauth falls back to the NameID.
                    "attribute_mapping": {key: list(names) for key, names in SAML_ATTRIBUTE_MAPPING.items()},
                    "idp": {"entity_id": entity_id, "metadata_url": saml_metadata},
                },
            }],
        }
        settings["EXTRA_APPS"].append("allauth.socialaccount.providers.saml")
        settings["SIGN_IN_ORIGINS"].append(_origin("SAML_IDP_METADATA_URL", saml_metadata))
    return settings
