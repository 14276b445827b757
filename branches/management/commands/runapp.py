"""Start pgGit's web app: migrate, set up the demo repository and a first administrator, then
serve the ASGI app (HTTP and websockets) with uvicorn, with the event listener and the task
worker as child processes (``manage.py pggit_listener``, ``manage.py pggit_worker``) that stop
with it."""

import secrets
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
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
        parser.add_argument("--workers", type=int, default=1,
                            help="uvicorn worker processes (more than one needs REDIS_URL: the channel layer)")
        parser.add_argument("--no-background", action="store_true",
                            help="do not start the event listener and the task worker (run them yourself)")

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
        host, _, port = addrport.rpartition(":")
        if not port.isdigit() or not host:
            raise CommandError(f"--addrport {addrport!r}: use HOST:PORT, e.g. 127.0.0.1:8000")
        workers = options.get("workers") or 1
        if workers > 1 and not settings.REDIS_URL:
            raise CommandError("--workers > 1 needs REDIS_URL: without it the channel layer lives in one process")
        background = not options.get("no_background")
        self.stdout.write(f"Serving on http://{addrport}/ (uvicorn, {workers} worker(s))")
        if workers == 1:
            serve_one(host.strip("[]"), int(port), background)
            return
        children = self.start_background() if background else []
        try:
            uvicorn_run(host.strip("[]"), int(port), workers)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    def start_background(self) -> list[subprocess.Popen]:
        """The listener and the worker as processes of their own (several web workers share them
        through Redis and PostgreSQL)."""
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        children = []
        for command in ("pggit_listener", "pggit_worker"):
            children.append(subprocess.Popen([sys.executable, manage, command]))
            self.stdout.write(f"Started {command} (pid {children[-1].pid})")
        return children


def _app_path() -> str:
    # with DEBUG, static files are served too, as runserver would
    return "pggit_web.asgi:debug_application" if settings.DEBUG else "pggit_web.asgi:application"


def _config(host: str, port: int):
    import uvicorn

    return uvicorn.Config(_app_path(), host=host, port=port, ws="websockets-sansio", lifespan="off",
                          proxy_headers=True, log_level="info")


def uvicorn_run(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(_app_path(), host=host, port=port, workers=workers, ws="websockets-sansio", lifespan="off",
                proxy_headers=True, log_level="info")


def serve_one(host: str, port: int, background: bool) -> None:
    """One process: uvicorn, and the listener and the worker as threads beside it. Events reach
    the sockets through the channel layer (the in-memory one, without REDIS_URL: then the worker
    hands its messages to the server's event loop, see monitoring.fanout.use_server_loop)."""
    import asyncio

    import uvicorn

    from monitoring.background import Background

    async def main():
        jobs = None
        if background:
            from monitoring import fanout

            fanout.use_server_loop(asyncio.get_running_loop())
            jobs = Background().start()
        try:
            await uvicorn.Server(_config(host, port)).serve()
        finally:
            if jobs is not None:
                await asyncio.get_running_loop().run_in_executor(None, jobs.stop)

    asyncio.run(main())
