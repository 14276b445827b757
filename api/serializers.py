"""Shapes of the API's own resources: JWT sign-in and personal access tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from api.models import PersonalAccessToken
from branches.access import visible_repositories
from branches.models import Role
from branches.serializers import StrictCharField

ROLE_LABELS = [r.label for r in Role]


class LoginTokenObtainSerializer(TokenObtainPairSerializer):
    """``{"username": ..., "password": ...}`` where ``username`` may be the email address, or
    ``{"email": ..., "password": ...}``: a JWT access and refresh token."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"] = StrictCharField(write_only=True, required=False, max_length=254)
        self.fields["email"] = StrictCharField(write_only=True, required=False, max_length=254)

    def validate(self, attrs):
        login = (attrs.get("username") or attrs.get("email") or "").strip()
        if not login:
            raise serializers.ValidationError({"username": ["give a user name or an email address"]})
        users = get_user_model().objects
        if "@" in login and not users.filter(username=login).exists():
            matches = list(users.filter(email__iexact=login).values_list("username", flat=True)[:2])
            if len(matches) == 1:
                login = matches[0]
        attrs["username"] = login
        return super().validate(attrs)


class TokenSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="token_key", read_only=True,
                               help_text="The token's first characters: how it is named in lists and URLs.")
    repositories = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    max_role = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(source="expiry", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="created", read_only=True)
    expired = serializers.BooleanField(source="is_expired", read_only=True)

    class Meta:
        model = PersonalAccessToken
        fields = ["id", "name", "repositories", "max_role", "created_at", "expires_at", "expired", "last_used_at"]

    def get_max_role(self, token) -> str:
        return Role(token.max_role).label


class TokenCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    repositories = serializers.ListField(child=StrictCharField(max_length=100), min_length=1, max_length=500,
                                         help_text="Slugs of the repositories the token may reach.")
    max_role = serializers.ChoiceField(choices=ROLE_LABELS, default=Role.VIEWER.label)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="When the token stops working; never when null.")

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("the expiry is in the past")
        return value

    def validate_repositories(self, slugs):
        """Only repositories the user sees; an unknown slug is refused the same as one not seen."""
        user = self.context["request"].user
        found = {r.slug: r for r in visible_repositories(user).filter(slug__in=slugs)}
        missing = sorted(set(slugs) - set(found))
        if missing:
            raise serializers.ValidationError(f"no such repository: {', '.join(missing)}")
        return list(found.values())


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself: shown this once, never again.")

    class Meta(TokenSerializer.Meta):
        fields = TokenSerializer.Meta.fields + ["token"]
