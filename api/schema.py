"""OpenAPI: the personal access token scheme (a drf-spectacular extension, loaded by ApiConfig) and
the error body on every operation (``AutoSchema``, REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"])."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "pggit_...",
                "description": "A personal access token (Settings > API tokens, or POST /api/v1/tokens/)."}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: what clients branch on (docs/api.md lists them).")
    message = serializers.CharField(help_text="For people.")
    detail = serializers.DictField(help_text="Field errors, PostgreSQL's DETAIL/HINT, the engine's SQLSTATE...")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# Every operation may answer with the error body; these are the statuses it uses (api/errors.py).
ERROR_STATUSES = ("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429", "503")


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with the one error body documented for every error status."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction == "response":
            for status in ERROR_STATUSES:
                bodies.setdefault(status, self._get_response_for_code(
                    ErrorSerializer, status, media_types=["application/json"], direction=direction))
        return bodies
