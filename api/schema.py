"""OpenAPI descriptions of the API's authentication (drf-spectacular extensions; loaded by ApiConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "pggit_...",
                "description": "A personal access token (Settings > API tokens, or POST /api/v1/tokens/)."}
