"""ASGI entry point (HTTP now; websockets through Channels come with live events)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_web.settings")

application = get_asgi_application()
