"""Encrypt every repository's stored secrets again with the current SECRET_KEY (key rotation)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from branches.models import Repository


class Command(BaseCommand):
    help = ("Encrypt the stored connection URLs and console passwords again with the key from SECRET_KEY. "
            "Run it after moving the old key to SECRET_KEY_FALLBACKS; then the old key can go.")

    def handle(self, *args, **options):
        with transaction.atomic():
            repos = list(Repository.objects.select_for_update().order_by("pk"))
            for repo in repos:  # read with any key, written with the current one
                repo.save(update_fields=["dsn", "console_password"])
        self.stdout.write(f"Encrypted the secrets of {len(repos)} repositories again.")
