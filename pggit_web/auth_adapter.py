"""allauth adapters: sign-up open or closed by ACCOUNT_ALLOW_SIGNUP; a new account has no
repository role until a maintainer grants one; a confirmation email that cannot be sent is said
on the page instead of failing the sign-up with a 500."""

import logging
import smtplib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.mail import InvalidMailer

logger = logging.getLogger(__name__)

CONFIRMATION_NOT_SENT = ("The email to confirm your address could not be sent. Try \"send again\" later "
                         "from your account's email page, or ask an administrator to confirm it.")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_confirmation_mail(self, request, emailconfirmation, signup):
        """An address confirmation (at sign-up or later) that cannot go out (no usable mailer, a
        mail server that refuses or is down) is logged and told on the page; the account is
        kept, unconfirmed. Other mails (password reset) raise: their view says so."""
        try:
            return super().send_confirmation_mail(request, emailconfirmation, signup)
        except (InvalidMailer, OSError, smtplib.SMTPException):
            logger.exception("the email confirming an address could not be sent")
            messages.warning(request, CONFIRMATION_NOT_SENT)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        # Accounts from the configured identity provider are always welcome: the provider vouches for them.
        return True
