"""ASGI entry point: HTTP (Django) and websockets (Channels: monitoring/routing.py).

A websocket is accepted from the site's own pages only (a browser's Origin must be an allowed host,
as for CSRF), with the session's user or the API's credentials (monitoring/ws_auth.py).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_web.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from monitoring.routing import websocket_urlpatterns  # noqa: E402
from monitoring.ws_auth import OriginCheck, TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_application,
    "websocket": OriginCheck(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
})


def _debug_application():
    """With DEBUG (``python3 dev.py run``), static files are served too, as runserver does."""
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    return ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_application),
                               "websocket": application.application_mapping["websocket"]})


debug_application = _debug_application()
