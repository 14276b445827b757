"""Run the event listener: engine events of every repository become events (monitoring.listener)."""

from django.core.management.base import BaseCommand

from monitoring.listener import Listener


class Command(BaseCommand):
    help = "Listen to every repository database's engine events and record them as events."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=None,
                            help="read each audit trail at least this often, in seconds (default: settings)")

    def handle(self, *args, poll=None, **options):
        self.stdout.write("pgGit listener: listening to every repository")
        try:
            Listener(poll=poll).run_forever()
        except KeyboardInterrupt:
            pass
