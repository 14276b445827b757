"""Two sign-in pages that wrap allauth's: the admin signs in on allauth's login page (so that its
rate limits apply there too), and password reset says so when the email cannot be sent."""

from __future__ import annotations

import logging
import smtplib

from allauth.account.views import PasswordResetView as AllauthPasswordResetView
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.mail import InvalidMailer
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

MAIL_NOT_CONFIGURED = ("This site is not set up to send email, so no reset link was sent. "
                       "Ask an administrator to reset your password.")
MAIL_NOT_SENT = ("The email with the reset link could not be sent (the mail server did not take it). "
                 "Try again later, or ask an administrator to reset your password.")


@login_not_required
def admin_login(request):
    """``/admin/login/``: no form of its own. Signed out, it sends to allauth's login page (whose
    failed-attempt limits, ACCOUNT_RATE_LIMITS, then cover the admin too), keeping ``next``.
    Signed in with admin access, it goes on to ``next``; signed in without it is a 403 (sending
    that user to the login page would bring them straight back here)."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(next_url, "account_login")
    if admin.site.has_permission(request):
        return redirect(next_url)
    raise PermissionDenied("This account may not use the admin site.")


@method_decorator(login_not_required, name="dispatch")
class PasswordResetView(AllauthPasswordResetView):
    """allauth's password reset, answering with the form and a message instead of a 500 when the
    mail cannot go out: no usable mailer (MAILERS), or a mail server that refuses or is down.
    Unknown addresses are mailed too (allauth's enumeration prevention), so the message does not
    tell whether an account exists."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except InvalidMailer:
            logger.exception("password reset: the default mailer is not configured")
            form.add_error(None, MAIL_NOT_CONFIGURED)
        except (OSError, smtplib.SMTPException):  # refused, unreachable, timed out, rejected
            logger.exception("password reset: the email could not be sent")
            form.add_error(None, MAIL_NOT_SENT)
        return self.form_invalid(form)
