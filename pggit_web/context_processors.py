"""Template context every page gets."""

from django.conf import settings


def site(request):
    """``signup_open``: whether anyone may create an account (ACCOUNT_ALLOW_SIGNUP)."""
    return {"signup_open": settings.ACCOUNT_ALLOW_SIGNUP}
