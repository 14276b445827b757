"""Repositories: a name and how to reach a managed database.

Branches, commits and diffs are read from the engine in that database (``branches.engine``),
never copied into Django tables that could drift from it.
"""

from django.db import models
from django.urls import reverse
from django.utils.text import slugify


class Repository(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True, help_text="Defaults to the name, slugified.")
    dsn = models.TextField(
        "connection URL",
        help_text="postgresql:// URL of the managed database (the one pgGit's engine is installed in).",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("branches:dashboard", kwargs={"slug": self.slug})
