"""The notifications API (list, unread filter, mark read, mark all read, email preferences: each
caller's own only) and the reviewers of a merge request (who may ask, whom, and the 403/404)."""

from __future__ import annotations

import pytest
from api_support import error_of

from branches.models import Repository, Role
from events_support import run_tasks
from merges import actions
from merges.models import ReviewRequest
from monitoring.models import Event, EventKind, Notification, NotificationPreference

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFICATIONS = "/api/v1/notifications/"


@pytest.fixture
def mr(repo, author):
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def reviewers_url(repo, mr, tail=""):
    return f"/api/v1/repositories/{repo.slug}/merge-requests/{mr.number}/reviewers/{tail}"


@pytest.fixture
def two_notifications(repo, mr, author, reviewer, maintainer):
    actions.approve(reviewer, mr)
    actions.review(maintainer, mr, "comment", "looks fine")
    run_tasks()
    return list(Notification.objects.filter(user=author).order_by("id"))


def test_list_shows_the_callers_notifications_newest_first(as_api, author, reviewer, two_notifications):
    response = as_api(author).get(NOTIFICATIONS)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["kind"] for n in results] == ["merge_request.reviewed", "merge_request.approved"]
    first = results[1]
    assert first["reason"] == "review_submitted" and first["actor"] == "rex_reviewer" and first["unread"] is True
    assert first["repository"] == "widgets" and first["merge_request"] == 1
    assert first["url"] == "/repos/widgets/merge-requests/1/"
    assert as_api(reviewer).get(NOTIFICATIONS).json()["results"] == []


def test_mark_read_and_unread_filter(as_api, author, two_notifications):
    client = as_api(author)
    older, newer = two_notifications
    response = client.post(f"{NOTIFICATIONS}{older.pk}/read/")
    assert response.status_code == 200 and response.json()["unread"] is False
    older.refresh_from_db()
    assert older.read_at is not None
    assert [n["id"] for n in client.get(NOTIFICATIONS + "?unread=true").json()["results"]] == [newer.pk]
    assert error_of(client.get(NOTIFICATIONS + "?unread=maybe"))["code"] == "invalid_unread"
    response = client.post(f"{NOTIFICATIONS}read-all/")
    assert response.status_code == 200 and response.json() == {"marked": 1, "unread": 0}
    assert not Notification.objects.filter(user=author, read_at__isnull=True).exists()


def test_another_users_notification_is_a_404(as_api, reviewer, outsider, two_notifications):
    for caller in (reviewer, outsider):
        response = as_api(caller).post(f"{NOTIFICATIONS}{two_notifications[0].pk}/read/")
        assert response.status_code == 404 and error_of(response)["code"] == "notification_not_found"
    assert as_api(outsider).post(f"{NOTIFICATIONS}read-all/").json() == {"marked": 0, "unread": 0}
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_anonymous_callers_get_401(api):
    for method, url in (("get", NOTIFICATIONS), ("post", NOTIFICATIONS + "read-all/"),
                        ("get", NOTIFICATIONS + "preferences/"), ("patch", NOTIFICATIONS + "preferences/")):
        assert getattr(api, method)(url).status_code == 401, url


def test_a_token_for_another_repository_sees_none_of_this_ones(as_api, make_token, repo, author, two_notifications):
    other = Repository.objects.create(name="elsewhere", dsn=repo.dsn)
    assert as_api(token=make_token(author, [other], Role.VIEWER)).get(NOTIFICATIONS).json()["results"] == []
    assert len(as_api(token=make_token(author, [repo], Role.VIEWER)).get(NOTIFICATIONS).json()["results"]) == 2


def test_preferences_read_and_change(as_api, author):
    client = as_api(author)
    assert client.get(NOTIFICATIONS + "preferences/").json() == {
        "email_review_requested": True, "email_review_submitted": True, "email_merged": True, "email_closed": True,
        "email_mentioned": True, "email_alert": True}
    response = client.patch(NOTIFICATIONS + "preferences/", {"email_mentioned": False}, format="json")
    assert response.status_code == 200 and response.json()["email_mentioned"] is False
    assert response.json()["email_alert"] is True
    assert not NotificationPreference.objects.get(user=author).email_mentioned
    response = client.patch(NOTIFICATIONS + "preferences/", {"email_alert": "no"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    assert NotificationPreference.objects.get(user=author).email_alert


# reviewers ----------------------------------------------------------------------------------------

def test_author_and_maintainer_request_reviews_and_the_reviewer_is_notified(as_api, repo, mr, author, reviewer,
                                                                           maintainer):
    response = as_api(author).post(reviewers_url(repo, mr), {"username": "rex_reviewer"}, format="json")
    assert response.status_code == 201
    assert response.json()["reviewer"] == "rex_reviewer" and response.json()["requested_by"] == "ada_author"
    # asking again is no second request and no second notification
    assert as_api(maintainer).post(reviewers_url(repo, mr), {"username": "rex_reviewer"},
                                   format="json").status_code == 201
    assert as_api(maintainer).post(reviewers_url(repo, mr), {"username": "mia_maintainer"},
                                   format="json").status_code == 201
    run_tasks()
    assert [r["reviewer"] for r in as_api(author).get(reviewers_url(repo, mr)).json()] == ["rex_reviewer",
                                                                                        "mia_maintainer"]
    assert Event.objects.filter(kind=EventKind.MR_REVIEW_REQUESTED).count() == 2
    assert list(Notification.objects.filter(user=reviewer).values_list("reason", flat=True)) == ["review_requested"]
    # the maintainer asked themselves: the actor is never notified
    assert not Notification.objects.filter(user=maintainer).exists()
    mine = as_api(reviewer).get(NOTIFICATIONS).json()["results"]
    assert [n["title"] for n in mine] == ["ada_author requested your review on !1 Colors in widgets"]


@pytest.mark.parametrize("caller,status", [("author", 201), ("maintainer", 201), ("reviewer", 403),
                                           ("viewer", 403), ("outsider", 404)])
def test_who_may_request_a_review(as_api, repo, mr, author, reviewer, maintainer, viewer, outsider, caller, status):
    users = {"author": author, "maintainer": maintainer, "reviewer": reviewer, "viewer": viewer, "outsider": outsider}
    target = "rex_reviewer" if caller != "reviewer" else "mia_maintainer"
    response = as_api(users[caller]).post(reviewers_url(repo, mr), {"username": target}, format="json")
    assert response.status_code == status
    assert ReviewRequest.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize("caller,status", [("viewer", 200), ("outsider", 404)])
def test_who_may_list_reviewers(as_api, repo, mr, viewer, outsider, caller, status):
    client = as_api(viewer if caller == "viewer" else outsider)
    assert client.get(reviewers_url(repo, mr)).status_code == status


def test_reviewers_must_be_members_who_may_review(as_api, repo, mr, author):
    client = as_api(author)
    for username, status, code in (("vic_viewer", 400, "not_a_reviewer"), ("ada_author", 400, "author_cannot_review"),
                                   ("otto_outsider", 404, "user_not_found"), ("no_such_user", 404, "user_not_found")):
        response = client.post(reviewers_url(repo, mr), {"username": username}, format="json")
        assert response.status_code == status and error_of(response)["code"] == code, username
    assert error_of(client.post(reviewers_url(repo, mr), {"username": 12}, format="json"))["code"] == "invalid"
    assert ReviewRequest.objects.count() == 0


def test_withdrawing_a_review_request(as_api, repo, mr, author, reviewer, viewer, outsider):
    actions.request_review(author, mr, reviewer.username)
    url = reviewers_url(repo, mr, "rex_reviewer/")
    assert as_api(viewer).delete(url).status_code == 403
    assert as_api(outsider).delete(url).status_code == 404
    assert ReviewRequest.objects.count() == 1
    assert as_api(author).delete(url).status_code == 204
    assert ReviewRequest.objects.count() == 0
    response = as_api(author).delete(url)
    assert response.status_code == 404 and error_of(response)["code"] == "review_request_not_found"


def test_a_description_edited_through_the_api_notifies_the_newly_mentioned(as_api, repo, mr, author, reviewer,
                                                                           maintainer):
    url = f"/api/v1/repositories/{repo.slug}/merge-requests/{mr.number}/"
    response = as_api(author).patch(url, {"description": "over to @rex_reviewer"}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "over to @rex_reviewer"
    response = as_api(author).patch(url, {"description": "over to @rex_reviewer and @mia_maintainer"}, format="json")
    assert response.status_code == 200
    run_tasks()
    [told] = as_api(reviewer).get(NOTIFICATIONS).json()["results"]
    assert (told["reason"], told["kind"], told["actor"]) == ("mentioned", "merge_request.updated", "ada_author")
    [told] = as_api(maintainer).get(NOTIFICATIONS).json()["results"]
    assert (told["reason"], told["kind"]) == ("mentioned", "merge_request.updated")
    assert Notification.objects.filter(user=reviewer).count() == 1
