"""One request budget per personal access token, per user otherwise (JWT or session), per address
for anonymous calls. Rates come from settings (``PGGIT_API_THROTTLE_RATE``, ``..._ANON_RATE``)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import PersonalAccessToken


class UserOrTokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        return settings.PGGIT_API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        if isinstance(request.auth, PersonalAccessToken):
            ident = f"token:{request.auth.pk[:32]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # AnonRateThrottle's
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "api_anon"

    def get_rate(self):
        return settings.PGGIT_API_ANON_THROTTLE_RATE

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
