"""Start pgGit's web app: migrate, set up the demo repository, serve."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from branches.demo import ensure_demo_repository
from pggit_web.dbconfig import redact_url


class Command(BaseCommand):
    help = "Apply migrations, make sure the demo repository exists, and serve the app."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="address:port to serve on")
        parser.add_argument("--no-demo", action="store_true", help="do not set up the demo repository")

    def handle(self, *args, addrport, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=max(options["verbosity"] - 1, 0))
        if not no_demo:
            repo = ensure_demo_repository()
            self.stdout.write(f"Demo repository {repo.name!r} ready: {redact_url(repo.dsn)}")
        self.stdout.write(f"Serving on http://{addrport}/")
        call_command("runserver", addrport, use_reloader=False)
