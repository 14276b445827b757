from django.shortcuts import get_object_or_404, render

from branches.engine import EngineUnavailable, read_dashboard
from branches.models import Repository
from pggit_web.dbconfig import redact_url


def repository_list(request):
    repositories = Repository.objects.all()
    return render(request, "branches/repository_list.html", {"repositories": repositories})


def dashboard(request, slug):
    repo = get_object_or_404(Repository, slug=slug)
    context = {"repo": repo, "dsn": redact_url(repo.dsn)}
    try:
        context["dashboard"] = read_dashboard(repo)
    except EngineUnavailable as e:
        context["error"] = str(e)
        return render(request, "branches/dashboard.html", context, status=503)
    return render(request, "branches/dashboard.html", context)
