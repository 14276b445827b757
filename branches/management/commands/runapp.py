"""Start pgGit's web app: migrate, set up the demo repository and a first administrator, serve."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from branches.access import grant
from branches.demo import ensure_demo_repository
from branches.models import Role

FIRST_ADMIN = "admin"
FIRST_ADMIN_EMAIL = "admin@localhost"


def ensure_first_admin(repo=None):
    """When there is no superuser at all, create ``admin`` with a random password and make it a
    maintainer of ``repo``. Returns (user, password) when one was created, else None.

    The password is only ever shown once, by the caller; change it (or run ``createadmin
    --update``) after signing in.
    """
    from branches.management.commands.createadmin import mark_email_verified

    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    name = FIRST_ADMIN
    while User.objects.filter(username=name).exists():  # someone signed up as "admin": leave that account alone
        name = f"{FIRST_ADMIN}-{secrets.token_hex(3)}"
    email = FIRST_ADMIN_EMAIL if name == FIRST_ADMIN else f"{name}@localhost"
    with transaction.atomic():
        user = User(username=name, email=email, is_staff=True, is_superuser=True, is_active=True)
        user.set_password(password)
        user.save()
        mark_email_verified(user, email)
        if repo is not None:
            grant(repo, user, Role.MAINTAINER)
    return user, password


class Command(BaseCommand):
    help = ("Apply migrations, make sure the demo repository exists, create a first administrator when there "
            "is none, and serve the app.")

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="address:port to serve on")
        parser.add_argument("--no-demo", action="store_true", help="do not set up the demo repository")
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then stop (for scripts)")

    def handle(self, *args, addrport, no_demo, no_serve=False, **options):
        call_command("migrate", interactive=False, verbosity=max(options["verbosity"] - 1, 0))
        repo = None
        if not no_demo:
            repo = ensure_demo_repository()
            self.stdout.write(f"Demo repository {repo.name!r} ready: {repo.masked_dsn}")
        created = ensure_first_admin(repo)
        if created is not None:
            user, password = created
            self.stdout.write(self.style.WARNING(
                f"Created administrator {user.get_username()!r} with password {password}\n"
                f"  (shown only this once: sign in and change it, or run: manage.py createadmin --update "
                f"--username {user.get_username()} --email you@example.com)"))
        if no_serve:
            return
        self.stdout.write(f"Serving on http://{addrport}/")
        call_command("runserver", addrport, use_reloader=False)
