"""Hostile input to the merge request endpoints: quotes, unicode and SQL in names and texts,
malformed JSON, wrong types, huge bodies. Each is a 4xx with the one error body and changes
nothing (texts that are only texts are stored verbatim and never run)."""

import json

import psycopg
import pytest
from api_support import error_of

from merges import actions
from merges.models import Comment, MergeRequest
from pggit.client import Client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/repositories/widgets/merge-requests/"
HOSTILE_NAMES = ["x'; DROP TABLE public.widgets; --", 'feature"colors', "fea ture", "ünïcødé-☃", "../main",
                 "main\nfeature-colors", "%00", "robert'); DELETE FROM pggit.commits; --"]


def tables(repo):
    with psycopg.connect(repo.dsn) as conn:
        return sorted(r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall())


def heads(repo):
    return sorted((b["name"], b["head"]) for b in Client(repo.dsn).branches())


@pytest.fixture
def mr(repo, author):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_branch_names_are_refused_and_change_nothing(as_api, repo, author, name):
    before = (tables(repo), heads(repo))
    for body in ({"source": name, "target": "main", "title": "t"}, {"source": "feature-colors", "target": name, "title": "t"}):
        response = as_api(author).post(LIST, body, format="json")
        assert 400 <= response.status_code < 500, (name, response.content)
        error_of(response)
    assert not MergeRequest.objects.exists()
    assert (tables(repo), heads(repo)) == before


def test_hostile_texts_are_stored_verbatim_and_never_run(as_api, repo, mr, author, viewer):
    title = "Robert'); DROP TABLE public.widgets; -- «ünï» ☃ \"quoted\" <script>alert(1)</script>"
    response = as_api(author).patch(f"{LIST}{mr.number}/", {"title": title, "description": "$$; SELECT pg_sleep(10); $$"},
                                    format="json")
    assert response.status_code == 200 and response.json()["title"] == title
    body = "'; TRUNCATE pggit.commits; -- 🙂 \\x00"
    identity = "table public.\"weird\"\"; DROP TABLE x; --\""
    response = as_api(viewer).post(f"{LIST}{mr.number}/comments/", {"body": body, "object_identity": identity},
                                   format="json")
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert (comment.body, comment.object_identity) == (body.strip(), identity)
    assert MergeRequest.objects.get().title == title
    assert tables(repo) == ["widgets"]
    listed = as_api(viewer).get(f"{LIST}{mr.number}/comments/", {"object_identity": identity}).json()
    assert [c["body"] for c in listed["results"]] == [body.strip()]


def test_malformed_json_is_400_parse_error(as_api, repo, mr, maintainer):
    client = as_api(maintainer)  # allowed everywhere: the body is what is refused
    for url in (LIST, f"{LIST}{mr.number}/comments/", f"{LIST}{mr.number}/merge/", f"{LIST}{mr.number}/conflicts/resolve/"):
        response = client.post(url, data='{"source": "feature-colors", "title": ', content_type="application/json")
        assert response.status_code == 400, url
        assert error_of(response)["code"] == "parse_error"
    response = client.patch(f"{LIST}{mr.number}/", data="[1, 2", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "parse_error"
    assert MergeRequest.objects.count() == 1 and not Comment.objects.exists()


def test_a_json_array_or_a_form_body_is_refused(as_api, repo, author):
    client = as_api(author)
    response = client.post(LIST, data=json.dumps(["feature-colors", "main"]), content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    response = client.post(LIST, data="source=feature-colors&target=main&title=t",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and error_of(response)["code"] == "unsupported_media_type"
    assert not MergeRequest.objects.exists()


@pytest.mark.parametrize("body", [
    {"source": ["feature-colors"], "target": "main", "title": "t"},
    {"source": "feature-colors", "target": "main", "title": {"text": "t"}},
    {"source": "feature-colors", "target": "main", "title": "t", "draft": "maybe"},
    {"source": "feature-colors", "target": "main", "title": "t", "strategy": "'; DROP TABLE x; --"},
    {"source": "feature-colors", "target": "main", "title": "x" * 201},
    {"source": "feature-colors", "target": "main", "title": "nul \x00 byte"},
    {"source": "feature-colors", "target": "main"},
    {"source": None, "target": "main", "title": "t"},
    {"source": "feature-colors", "target": "main", "title": 5},
    {"source": "feature-colors", "target": "main", "title": "t", "description": {"$ne": ""}},
])
def test_wrong_types_are_400_with_the_field_named(as_api, repo, author, body):
    response = as_api(author).post(LIST, body, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid" and set(error["detail"]) & {"source", "title", "draft", "strategy", "description"}
    assert not MergeRequest.objects.exists()


@pytest.mark.parametrize("tail,body", [
    ("merge/", {"force": "yes please"}),
    ("merge/", {"strategy": 3}),
    ("reviews/", {"verdict": ["approve"]}),
    ("draft/", {"draft": None}),
    ("auto-merge/", {"enabled": "sometimes"}),
    ("conflicts/resolve/", {"identity": {"x": 1}, "choice": "source"}),
    ("conflicts/resolve/", {"identity": "table public.widgets", "choice": "source", "force": []}),
    ("comments/", {"body": ["a", "b"]}),
    ("comments/", {"body": 42}),
    ("conflicts/resolve/", {"identity": "table public.widgets", "result": 1.5}),
    ("comments/", {"body": "x", "object_identity": "y" * 1001}),
])
def test_wrong_types_on_request_actions_are_400_and_change_nothing(as_api, repo, mr, maintainer, tail, body):
    before = heads(repo)
    response = as_api(maintainer).post(f"{LIST}{mr.number}/{tail}", body, format="json")
    assert response.status_code == 400, response.content
    error_of(response)
    mr = MergeRequest.objects.get()
    assert (mr.state, mr.draft, mr.auto_merge, mr.engine_merge_id) == ("open", False, False, None)
    assert heads(repo) == before and not Comment.objects.exists() and not mr.reviews.exists()


def test_a_huge_body_is_413(as_api, repo, mr, author):
    response = as_api(author).post(f"{LIST}{mr.number}/comments/", {"body": "x" * 3_000_000}, format="json")
    assert response.status_code == 413 and error_of(response)["code"] == "request_too_large"
    assert not Comment.objects.exists()


def test_a_custom_resolution_that_smuggles_another_statement_is_refused(as_api, repo, author):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Shade")
    client = as_api(author)
    item = client.post(f"{LIST}{mr.number}/conflicts/").json()["items"][0]
    smuggled = item["source_definition"] + "\nCREATE TABLE public.evil (id integer);"
    response = client.post(f"{LIST}{mr.number}/conflicts/resolve/", {"identity": item["identity"], "result": smuggled},
                           format="json")
    assert 400 <= response.status_code < 500
    error_of(response)
    assert "public.evil" in error_of(response)["message"]
    assert not MergeRequest.objects.get().resolutions.exists()
    assert tables(repo) == ["widgets"]


def test_out_of_range_and_odd_numbers_are_404(as_api, repo, mr, viewer):
    client = as_api(viewer)
    for number in ("99999999999999999999", "0"):
        response = client.get(f"{LIST}{number}/")
        assert response.status_code == 404 and error_of(response)["code"] == "not_found", number
    assert client.get(f"{LIST}-1/").status_code == 404
    assert client.get(f"{LIST}{mr.number}/changes/?object=" + "x" * 5000).status_code == 200
