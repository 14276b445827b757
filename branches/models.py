"""Repositories: a name and how to reach a managed database; who may do what in each; which
branches are protected.

Branches, commits and diffs are read from the engine in that database (``branches.engine``),
never copied into Django tables that could drift from it.
"""

from fnmatch import fnmatchcase

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

from branches.crypto import EncryptedTextField


class Role(models.IntegerChoices):
    """Per-repository roles, each including the ones below it."""

    VIEWER = 10, "viewer"          # read everything
    DEVELOPER = 20, "developer"    # open merge requests, apply DDL to unprotected branches
    REVIEWER = 30, "reviewer"      # review and approve merge requests
    MAINTAINER = 40, "maintainer"  # merge into protected branches, checkout, revert, manage the repository


def mask_dsn(dsn: str) -> str:
    """``user@host:port/dbname`` of a connection URL or key=value string, the password never
    included (shown as ``***`` when there is one); a string that cannot be read is not shown."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return "(a connection string that cannot be read)"
    user = params.get("user", "")
    if params.get("password"):
        user += ":***"
    host, port, query = params.get("host") or "", params.get("port"), ""
    if host.startswith("/"):  # a Unix socket directory
        host, query = "", f"?host={host}"
    if port:
        host += f":{port}"
    where = f"{user}@{host}" if user else host
    return f"postgresql://{where}/{params.get('dbname', '')}{query}"


# Slugs a repository cannot take: they are page addresses under /repos/.
RESERVED_SLUGS = {"new"}


class Repository(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True, help_text="Defaults to the name, slugified.")
    dsn = EncryptedTextField(
        "connection URL",
        help_text="postgresql:// URL of the managed database (the one pgGit's engine is installed in). "
                  "Stored encrypted, never shown again.",
    )
    description = models.TextField(blank=True)
    default_branch = models.CharField(
        max_length=200, default="main",
        help_text="Branches are compared with this one (ahead/behind) and merge requests target it by default.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    console_role = models.CharField(
        max_length=63, blank=True,
        help_text="The database role the SQL console logs in as on the checked-out branch (the live database): "
                  "it must be able to log in and have no SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS "
                  "and no pg_* role. Blank: the console on the checked-out branch is off.")
    console_password = EncryptedTextField(
        blank=True, help_text="The console role's password (stored encrypted); blank when it needs none.")
    database_identity = models.JSONField(
        null=True, blank=True, editable=False,
        help_text="What the server said about itself when last reached (system identifier, start time, port, "
                  "database oid): compared with new connection URLs when this one cannot be reached.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        slug = self.slug or slugify(self.name)
        if not slug:
            raise ValidationError({"name": "The name needs at least one letter or digit (it gives the page address)."})
        if slug in RESERVED_SLUGS:
            raise ValidationError({"slug": f"{slug!r} is reserved: choose another address."})
        if Repository.objects.filter(slug=slug).exclude(pk=self.pk).exists():
            field = "slug" if self.slug else "name"
            raise ValidationError({field: f"A repository has the address {slug!r} already: choose another name."})

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        if self.slug in RESERVED_SLUGS or not self.slug:
            raise ValueError(f"repository address {self.slug!r} is empty or reserved")
        super().save(*args, **kwargs)
        self.ensure_groups()

    @property
    def masked_dsn(self) -> str:
        """Where the repository's database is, with any password masked (for pages and logs)."""
        return mask_dsn(self.dsn)

    def get_absolute_url(self):
        return reverse("branches:dashboard", kwargs={"slug": self.slug})

    def ensure_groups(self):
        """One Django group per role, named ``<slug>:<role>``; membership grants the role."""
        for role in Role:
            if not RepositoryGroup.objects.filter(repository=self, role=role).exists():
                group, _ = Group.objects.get_or_create(name=f"{self.slug}:{role.label}")
                RepositoryGroup.objects.create(repository=self, role=role, group=group)

    def group(self, role: Role) -> Group:
        return RepositoryGroup.objects.select_related("group").get(repository=self, role=role).group

    def protection_for(self, branch: str) -> "BranchProtection | None":
        """The first rule (lowest ``position``, then pattern) whose pattern matches ``branch``."""
        for rule in self.protections.all():
            if fnmatchcase(branch, rule.pattern):
                return rule
        return None


class RepositoryGroup(models.Model):
    """Links a Django group to a repository role."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="role_groups")
    role = models.IntegerField(choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="repository_role")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "role"], name="one_group_per_repository_role")]
        ordering = ["repository", "role"]

    def __str__(self):
        return f"{self.repository.slug}: {self.get_role_display()}"


class BranchProtection(models.Model):
    """Rules for branches whose names match ``pattern`` (shell-style: ``main``, ``release/*``)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="protections")
    pattern = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0, help_text="Rules are tried in this order; the first match applies.")
    required_approvals = models.PositiveIntegerField(default=1)
    allow_self_approval = models.BooleanField(
        default=False, help_text="Whether the author's own approval counts (off: someone else must approve).")
    merge_role = models.IntegerField(
        choices=[(r.value, r.label) for r in (Role.DEVELOPER, Role.REVIEWER, Role.MAINTAINER)],
        default=Role.MAINTAINER, help_text="The lowest role allowed to merge into (and apply DDL on) these branches.")
    dismiss_stale_approvals = models.BooleanField(
        default=True, help_text="New commits on a merge request's source dismiss earlier approvals.")

    class Meta:
        ordering = ["repository", "position", "pattern"]
        constraints = [models.UniqueConstraint(fields=["repository", "pattern"], name="one_rule_per_pattern"),
                       models.CheckConstraint(condition=~models.Q(pattern=""), name="protection_pattern_not_empty")]
        verbose_name_plural = "branch protections"

    def __str__(self):
        return f"{self.repository.slug}: {self.pattern}"
