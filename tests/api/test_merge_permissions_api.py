"""Who may call each merge request endpoint: anonymous 401, outsider 404 (and a token limited to
another repository), a role too low 403 (and a token whose maximum role is too low); the users
allowed get past authorization. The bodies are invalid on purpose (or the request is in a state
the action refuses), so an allowed call is a 400/409 that changes nothing: the status tells the
authorization apart, and the request is unchanged afterwards whoever called."""

import pytest
from api_support import error_of

from branches.models import Repository, Role
from merges import actions
from merges.models import Comment, MergeRequest, Review
from pggit.client import Client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/repositories/widgets/merge-requests/"
MEMBERS = ["viewer", "author", "reviewer", "maintainer"]  # roles: viewer, developer (the author), reviewer, maintainer


@pytest.fixture
def callers(repo, as_api, api, make_token, author, reviewer, maintainer, viewer, outsider):
    """name -> API client: the members, an outsider, anonymous, and two tokens of the maintainer's:
    one capped at viewer, one limited to another repository."""
    other = Repository.objects.create(name="elsewhere", dsn=repo.dsn)
    return {
        "anonymous": api, "outsider": as_api(outsider), "viewer": as_api(viewer), "author": as_api(author),
        "reviewer": as_api(reviewer), "maintainer": as_api(maintainer),
        "viewer_token": as_api(token=make_token(maintainer, [repo], Role.VIEWER)),
        "other_repo_token": as_api(token=make_token(maintainer, [other], Role.MAINTAINER)),
    }


@pytest.fixture
def mr(repo, author):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def snapshot(mr):
    mr = MergeRequest.objects.get(pk=mr.pk)
    return (mr.title, mr.state, mr.draft, mr.strategy, mr.auto_merge, mr.engine_merge_id, mr.merge_commit,
            Review.objects.count(), Comment.objects.count(), MergeRequest.objects.count())


# (method, tail, body, the callers allowed, the status an allowed call gets)
READ = ["get", None, None, MEMBERS + ["viewer_token"], 200]
ENDPOINTS = {
    "list": ["get", "LIST", None, MEMBERS + ["viewer_token"], 200],
    "open": ["post", "LIST", {"source": "feature-colors", "target": "main"}, ["author", "reviewer", "maintainer"], 400],
    "detail": READ[:1] + [""] + READ[2:],
    "conversation": READ[:1] + ["conversation/"] + READ[2:],
    "commits": READ[:1] + ["commits/"] + READ[2:],
    "changes": READ[:1] + ["changes/"] + READ[2:],
    "migration": READ[:1] + ["migration/"] + READ[2:],
    "reviews": READ[:1] + ["reviews/"] + READ[2:],
    "comments": READ[:1] + ["comments/"] + READ[2:],
    "edit": ["patch", "", {"strategy": "bogus"}, ["author", "maintainer"], 400],
    "draft": ["post", "draft/", {"draft": "perhaps"}, ["author", "maintainer"], 400],
    "reopen": ["post", "reopen/", None, ["author", "maintainer"], 409],  # it is open: not_closed
    "request_changes": ["post", "reviews/", {"verdict": "request_changes", "body": ""}, ["reviewer", "maintainer"], 400],
    "comment": ["post", "comments/", {"body": ""}, MEMBERS + ["viewer_token"], 400],
    "auto_merge": ["post", "auto-merge/", {"enabled": "perhaps"}, ["maintainer"], 400],
    "merge": ["post", "merge/", {"force": "perhaps"}, ["maintainer"], 400],
    "conflicts": ["get", "conflicts/", None, ["author", "maintainer"], 200],
    "open_conflicts": ["post", "conflicts/", None, ["author", "maintainer"], 409],  # a fast-forward: no_conflicts
    "resolve": ["post", "conflicts/resolve/", {"choice": "source"}, ["author", "maintainer"], 400],
    "abort": ["post", "abort/", None, ["author", "maintainer"], 200],  # nothing in progress: nothing to abort
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_each_caller_gets_the_status_of_their_role(callers, mr, endpoint):
    method, tail, body, allowed, allowed_status = ENDPOINTS[endpoint]
    path = LIST if tail == "LIST" else f"{LIST}{mr.number}/{tail}"
    before = snapshot(mr)
    for name, client in callers.items():
        response = getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
        if name == "anonymous":
            expected = 401
        elif name in ("outsider", "other_repo_token"):
            expected = 404
        elif name in allowed:
            expected = allowed_status
        else:
            expected = 403
        assert response.status_code == expected, (endpoint, name, response.status_code, response.content[:300])
        if expected >= 400:
            error = error_of(response)
            assert error["code"] == {401: "not_authenticated", 404: "not_found", 403: "permission_denied"}.get(
                expected, error["code"])
        assert snapshot(mr) == before, (endpoint, name)
