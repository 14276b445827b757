"""Create the first administrator: a superuser whose email address allauth treats as verified."""

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

PASSWORD_ENV = "PGGIT_ADMIN_PASSWORD"


def mark_email_verified(user, email: str) -> None:
    """Record ``email`` in allauth's EmailAddress as the user's primary, verified address, so that
    mandatory email verification never locks the administrator out."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        address = EmailAddress(user=user, email=email)
    address.verified = True
    address.primary = True
    address.save()


class Command(BaseCommand):
    help = (f"Create an administrator (superuser, staff) with a verified email address. The password comes from "
            f"--password, else ${PASSWORD_ENV}, else a prompt. An existing user is only changed with --update.")

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help=f"the password (default: ${PASSWORD_ENV}, else asked for)")
        parser.add_argument("--update", action="store_true",
                            help="if the user exists, make it an administrator and set its email and password")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="never prompt; fail when no password is given")
        parser.add_argument("--skip-password-validation", action="store_true",
                            help="accept a password that Django's password validators refuse")

    def handle(self, *args, username, email, password, update, interactive, skip_password_validation, **options):
        User = get_user_model()
        username = username.strip()
        email = email.strip()
        if not username:
            raise CommandError("--username must not be empty")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email {email!r} is not an email address") from None

        existing = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if existing is not None and not update:
            raise CommandError(f"user {username!r} exists already; pass --update to make it an administrator "
                               f"and reset its email and password")
        others = User.objects.exclude(pk=getattr(existing, "pk", None))
        taken = (others.filter(email__iexact=email).first()
                 or others.filter(emailaddress__email__iexact=email).first())
        if taken is not None:
            raise CommandError(f"email {email!r} belongs to another user ({taken.get_username()!r})")

        password = password or os.environ.get(PASSWORD_ENV) or self._prompt(interactive)
        candidate = existing or User(**{User.USERNAME_FIELD: username, "email": email})
        if not skip_password_validation:
            try:
                validate_password(password, candidate)
            except ValidationError as e:
                raise CommandError("password refused: " + " ".join(e.messages)) from None

        with transaction.atomic():
            user = candidate
            user.email = email
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            mark_email_verified(user, email)
        verb = "updated" if existing is not None else "created"
        self.stdout.write(self.style.SUCCESS(f"Administrator {username!r} <{email}> {verb}."))

    def _prompt(self, interactive: bool) -> str:
        if not interactive or not self.stdin_is_tty():
            raise CommandError(f"no password: pass --password or set {PASSWORD_ENV}")
        for _ in range(3):
            first = getpass.getpass("Password: ")
            if not first:
                self.stderr.write("The password must not be empty.")
                continue
            if getpass.getpass("Password (again): ") == first:
                return first
            self.stderr.write("The passwords did not match.")
        raise CommandError("no password given")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return hasattr(sys.stdin, "isatty") and sys.stdin.isatty()
