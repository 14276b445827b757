"""``/metrics``: Prometheus' scrape of ``monitoring.metrics``. Not behind the sign-in redirect;
off (404) until PGGIT_METRICS_TOKEN or PGGIT_METRICS_ALLOWED_NETWORKS is set. A client outside
the allowed networks gets 403, a missing or wrong bearer token 401."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from monitoring import metrics


@login_not_required
@never_cache
@require_GET
def metrics_view(request):
    if not metrics.enabled():
        raise Http404("metrics are off")
    if not metrics.address_allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponse("this address may not read the metrics\n", status=403, content_type="text/plain")
    if not metrics.token_matches(request.headers.get("Authorization")):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
