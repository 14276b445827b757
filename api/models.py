"""Personal access tokens for scripts and pipelines.

A token is django-rest-knox's hashed token (only its digest and first characters are stored; the
token itself is shown once, when it is made) with what a pipeline token needs on top: a name, the
repositories it may reach and the highest role it acts with. ``KNOX_TOKEN_MODEL`` points knox at
this model, so knox's own authentication code checks the digest.
"""

from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken

from branches.models import Repository, Role


class PersonalAccessToken(AbstractAuthToken):
    name = models.CharField(max_length=100)
    repositories = models.ManyToManyField(
        Repository, related_name="+", blank=False,
        help_text="The only repositories the token reaches; every other one is as if it did not exist (404).")
    max_role = models.IntegerField(
        choices=Role.choices, default=Role.VIEWER,
        help_text="The token acts with the lower of this and its owner's role in the repository.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "digest"]
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="token_name_not_empty")]

    def __str__(self):
        return f"{self.user} / {self.name}"

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
