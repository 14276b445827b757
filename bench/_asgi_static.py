"""The app's ASGI application with its static files served too (Django's ASGIStaticFilesHandler,
as ``runserver`` does), for benchmarks that drive pages in a browser without a web server in front
(production serves /static/ from STATIC_ROOT with its own server)::

    uvicorn _asgi_static:application --app-dir bench
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from pggit_web.asgi import application as _application  # noqa: E402

application = ASGIStaticFilesHandler(_application)
