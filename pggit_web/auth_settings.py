"""Sign-in settings: django-allauth, with OpenID Connect and SAML providers switched on by
environment variables alone (README, "Sign-in").

``configure_auth()`` returns the settings as a dict; ``EXTRA_APPS`` lists the provider apps to
add to INSTALLED_APPS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from pggit_web.env import env_bool, env_str

EMAIL_VERIFICATION_VALUES = ("none", "optional", "mandatory")


def configure_auth(environ: Mapping[str, str] = os.environ) -> dict:
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
    }
    email_backend = env_str("EMAIL_BACKEND", None, environ)
    if email_backend:
        settings["EMAIL_BACKEND"] = email_backend
    providers = settings["SOCIALACCOUNT_PROVIDERS"]

    oidc_url = env_str("OIDC_SERVER_URL", None, environ)
    if oidc_url:
        client_id = env_str("OIDC_CLIENT_ID", None, environ)
        if not client_id:
            raise ImproperlyConfigured("OIDC_SERVER_URL is set but OIDC_CLIENT_ID is not")
        providers["openid_connect"] = {
            "APPS": [{
                "provider_id": env_str("OIDC_PROVIDER_ID", "oidc", environ),
                "name": env_str("OIDC_PROVIDER_NAME", "Single sign-on", environ),
                "client_id": client_id,
                "secret": env_str("OIDC_CLIENT_SECRET", "", environ),
                "settings": {"server_url": oidc_url},
            }],
        }
        settings["EXTRA_APPS"].append("allauth.socialaccount.providers.openid_connect")

    saml_metadata = env_str("SAML_IDP_METADATA_URL", None, environ)
    if saml_metadata:
        entity_id = env_str("SAML_IDP_ENTITY_ID", None, environ)
        if not entity_id:
            raise ImproperlyConfigured("SAML_IDP_METADATA_URL is set but SAML_IDP_ENTITY_ID is not")
        providers["saml"] = {
            "APPS": [{
                "name": env_str("SAML_PROVIDER_NAME", "SAML sign-on", environ),
                "provider_id": entity_id,
                "client_id": env_str("SAML_ORGANIZATION", "pggit", environ),
                "settings": {
                    "attribute_mapping": {
                        "uid": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
                        "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                    },
                    "idp": {"entity_id": entity_id, "metadata_url": saml_metadata},
                },
            }],
        }
        settings["EXTRA_APPS"].append("allauth.socialaccount.providers.saml")
    return settings
