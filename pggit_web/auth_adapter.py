"""allauth adapters: sign-up open or closed by ACCOUNT_ALLOW_SIGNUP; a new account has no
repository role until a maintainer grants one."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        # Accounts from the configured identity provider are always welcome: the provider vouches for them.
        return True
