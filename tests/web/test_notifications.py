"""Notifications: who is told what (and never the actor, never an outsider), one email per event
and person through the locmem backend (none after a retry, none when turned off), the bell's live
message over /ws/me/ through the real Redis channel layer, the notifications and preferences
pages, and reviewer requests on the merge request page."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core import mail

from events_support import Socket, run_tasks
from merges import actions
from merges.models import MergeRequest, ReviewRequest
from monitoring.models import Event, EventKind, Notification, NotificationPreference
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def open_request(repo, author, description=""):
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors",
                                      description=description)


def told(user, reason=None):
    """(reason, event kind) of each of ``user``'s notifications, oldest first."""
    qs = Notification.objects.filter(user=user).order_by("id")
    if reason:
        qs = qs.filter(reason=reason)
    return [(n.reason, n.event.kind) for n in qs.select_related("event")]


def mails_to(user) -> list:
    return [m for m in mail.outbox if user.email in m.to]


@pytest.fixture(autouse=True)
def empty_outbox():
    mail.outbox = []


@pytest.fixture
def mr(repo, author):
    mr = open_request(repo, author)
    run_tasks()
    return mr


# who is told what -------------------------------------------------------------------------------

def test_review_request_notifies_the_requested_reviewer_and_nobody_else(repo, mr, author, reviewer, maintainer,
                                                                        viewer, outsider):
    actions.request_review(author, mr, reviewer.username)
    actions.request_review(author, mr, reviewer.username)  # asking again: nothing new
    run_tasks()
    assert told(reviewer) == [("review_requested", "merge_request.review_requested")]
    for other in (author, maintainer, viewer, outsider):
        assert told(other) == []
    [message] = mails_to(reviewer)
    assert "ada_author requested your review on !1 Colors" in message.subject
    assert f"/repos/{repo.slug}/merge-requests/1/" in message.body
    assert len(mail.outbox) == 1


def test_reviews_notify_the_author_and_not_the_reviewer(repo, mr, author, reviewer, maintainer):
    actions.approve(reviewer, mr, "ship it")
    actions.review(maintainer, mr, "comment", "one more thought")
    run_tasks()
    assert told(author) == [("review_submitted", "merge_request.approved"),
                            ("review_submitted", "merge_request.reviewed")]
    assert told(reviewer) == [] and told(maintainer) == []
    assert [m.subject for m in mails_to(author)] == ["[pgGit] rex_reviewer approved !1 Colors in widgets",
                                                     "[pgGit] mia_maintainer reviewed !1 Colors in widgets"]


def test_changes_requested_notifies_the_author(repo, mr, author, reviewer):
    actions.request_changes(reviewer, mr, "add a default")
    run_tasks()
    assert told(author) == [("review_submitted", "merge_request.changes_requested")]
    assert told(reviewer) == []


def test_closing_notifies_the_author_unless_the_author_closed_it(repo, mr, author, maintainer):
    actions.close(maintainer, mr)
    actions.reopen(author, MergeRequest.objects.get(pk=mr.pk))
    actions.close(author, MergeRequest.objects.get(pk=mr.pk))
    run_tasks()
    assert told(author) == [("closed", "merge_request.closed")]
    assert told(maintainer) == []
    assert len(mails_to(author)) == 1


def test_merging_notifies_the_author(repo, author, reviewer, maintainer):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    assert outcome.status == "merged"
    run_tasks()
    assert told(author) == [("review_submitted", "merge_request.approved"), ("merged", "merge_request.merged")]
    assert told(maintainer) == [] and told(reviewer) == []
    assert "mia_maintainer merged !1 Colors" in mails_to(author)[-1].subject


def test_mentions_notify_members_but_never_an_outsider_or_the_writer(repo, mr, author, reviewer, viewer, outsider):
    actions.add_comment(reviewer, mr, "@vic_viewer, see this; cc @otto_outsider @rex_reviewer and @nobody_here. "
                                      "mail rex@ada_author.example")
    run_tasks()
    assert told(viewer) == [("mentioned", "comment.created")]
    assert told(outsider) == []  # would tell them the repository exists
    assert told(reviewer) == []  # the writer
    assert told(author) == []  # an email address is not a mention
    assert mails_to(outsider) == [] and len(mails_to(viewer)) == 1
    assert "rex_reviewer mentioned you on !1 Colors" in mails_to(viewer)[0].subject


def test_a_mention_of_an_outsider_alone_notifies_nobody(repo, mr, reviewer, outsider):
    actions.add_comment(reviewer, mr, "@otto_outsider what do you think?")
    run_tasks()
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_a_description_mention_notifies_when_the_request_opens(repo, author, viewer, maintainer):
    open_request(repo, author, description="Needs a look from @mia_maintainer.")
    run_tasks()
    assert told(maintainer) == [("mentioned", "merge_request.opened")]
    assert told(viewer) == []


def test_an_edited_description_notifies_the_newly_mentioned_once(repo, author, reviewer, viewer, maintainer,
                                                                   outsider):
    """Mentions added by an edit notify (once, one mail each); those of the earlier text, already
    told when the request opened, are not told again, nor on an edit that changes something else."""
    mr = open_request(repo, author, description="Needs a look from @mia_maintainer.")
    run_tasks()
    assert told(maintainer) == [("mentioned", "merge_request.opened")]
    actions.edit(author, mr, description="Needs a look from @mia_maintainer and @rex_reviewer, "
                                         "cc @otto_outsider @nobody_at_all @ada_author.")
    run_tasks()
    assert told(reviewer) == [("mentioned", "merge_request.updated")]
    assert told(maintainer) == [("mentioned", "merge_request.opened")]  # the earlier text's: told already
    assert told(outsider) == [] and told(author) == []  # an outsider never; the writer never
    mr = MergeRequest.objects.get(pk=mr.pk)
    actions.edit(author, mr, title="Colors, all of them")  # the same description: nobody newly mentioned
    actions.edit(author, MergeRequest.objects.get(pk=mr.pk), description=mr.description + " Also @vic_viewer.")
    run_tasks()
    assert told(viewer) == [("mentioned", "merge_request.updated")]
    assert told(reviewer) == [("mentioned", "merge_request.updated")] and len(told(maintainer)) == 1
    assert [len(mails_to(u)) for u in (maintainer, reviewer, viewer, outsider)] == [1, 1, 1, 0]


def test_a_mention_removed_and_added_again_is_not_told_twice(repo, author, reviewer, maintainer):
    mr = open_request(repo, author, description="@rex_reviewer please")
    actions.edit(maintainer, mr, description="anyone?")
    actions.edit(maintainer, MergeRequest.objects.get(pk=mr.pk), description="@rex_reviewer please, after all")
    run_tasks()
    assert told(reviewer) == [("mentioned", "merge_request.opened")]
    assert len(mails_to(reviewer)) == 1
    # a mention by someone else than the writer of the earlier text: the author hears of it
    actions.edit(maintainer, MergeRequest.objects.get(pk=mr.pk), description="@ada_author: rebase please")
    run_tasks()
    assert told(author) == [("mentioned", "merge_request.updated")]


def test_an_edit_delivered_again_notifies_and_mails_once(repo, author, reviewer):
    from monitoring.notifications import email_notification, on_event

    mr = open_request(repo, author)
    run_tasks()
    actions.edit(author, mr, description="over to you @rex_reviewer")
    run_tasks()
    event = Event.objects.get(kind=EventKind.MR_UPDATED)
    assert event.delivered_at is not None and told(reviewer) == [("mentioned", "merge_request.updated")]
    assert on_event(event) == []  # the hook run again for the same event (a retried delivery)
    email_notification.enqueue(Notification.objects.get(user=reviewer).pk)  # and its mail task again
    run_tasks()
    assert told(reviewer) == [("mentioned", "merge_request.updated")]
    assert len(mails_to(reviewer)) == 1


def test_the_author_mentioned_in_a_review_is_told_once(repo, mr, author, reviewer):
    actions.approve(reviewer, mr, "nice work @ada_author")
    run_tasks()
    assert told(author) == [("review_submitted", "merge_request.approved")]
    assert len(mails_to(author)) == 1


def test_an_alert_notifies_the_maintainers_of_its_repository(repo, author, maintainer, viewer, outsider, reviewer):
    from monitoring.events import record

    record(EventKind.ALERT_RAISED, repo, payload={"repository": repo.slug,
                                                  "alert": {"title": "drift found on main", "severity": "warning"}})
    # an alert recorded without the repository row, naming it in its payload
    record(EventKind.ALERT_RAISED, None, payload={"repository": {"slug": repo.slug}, "alert": {"kind": "merge_failed"}})
    run_tasks()
    assert told(maintainer) == [("alert", "alert.raised"), ("alert", "alert.raised")]
    for other in (author, viewer, outsider, reviewer):
        assert told(other) == []
    assert Notification.objects.filter(user=maintainer, repository=repo).count() == 2
    assert "drift found on main" in mails_to(maintainer)[0].subject


def test_an_alert_raised_by_a_maintainer_does_not_notify_them(repo, maintainer):
    from monitoring.events import record

    record(EventKind.ALERT_RAISED, repo, actor=maintainer, payload={"repository": repo.slug})
    run_tasks()
    assert Notification.objects.count() == 0


def test_a_member_removed_since_is_not_notified(repo, mr, author, reviewer):
    from branches.models import Role

    actions.request_review(author, mr, reviewer.username)
    repo.group(Role.REVIEWER).user_set.remove(reviewer)
    run_tasks()
    assert told(reviewer) == []


# once only ------------------------------------------------------------------------------------

def test_a_delivery_run_again_makes_no_second_notification_or_mail(repo, mr, author, reviewer):
    from monitoring.notifications import on_event

    actions.approve(reviewer, mr)
    run_tasks()
    event = Event.objects.get(kind=EventKind.MR_APPROVED)
    assert event.delivered_at is not None
    assert on_event(event) == []  # the hook called again for the same event (a retried delivery)
    run_tasks()
    assert Notification.objects.filter(event=event).count() == 1
    assert len(mails_to(author)) == 1


def test_a_retried_mail_task_sends_no_second_mail(repo, mr, author, reviewer):
    from monitoring.notifications import email_notification, send_notification_email

    actions.approve(reviewer, mr)
    run_tasks()
    notification = Notification.objects.get(user=author)
    assert notification.emailed_at is not None and len(mail.outbox) == 1
    assert send_notification_email(notification.pk) == "already emailed"
    email_notification.enqueue(notification.pk)
    run_tasks()
    assert len(mail.outbox) == 1


def test_preferences_off_means_no_mail_but_the_notification_stays(repo, mr, author, reviewer, maintainer):
    from monitoring.notification_actions import set_preferences

    set_preferences(author, email_review_submitted=False)
    actions.approve(reviewer, mr)
    actions.close(maintainer, mr)
    run_tasks()
    assert [r for r, _ in told(author)] == ["review_submitted", "closed"]
    assert [m.subject for m in mails_to(author)] == ["[pgGit] mia_maintainer closed !1 Colors in widgets"]
    assert Notification.objects.get(user=author, reason="review_submitted").emailed_at is None


def test_a_user_without_an_email_address_gets_no_mail(repo, mr, author, reviewer):
    author.email = ""
    author.save()
    actions.approve(reviewer, mr)
    run_tasks()
    assert told(author) and mail.outbox == []


# the bell, live -------------------------------------------------------------------------------

def test_the_bell_hears_a_new_notification_and_reads_over_its_socket_through_redis(repo, mr, author, reviewer):
    from monitoring.notification_actions import mark_all_read
    from pggit_web.asgi import application

    async def scenario():
        socket = Socket(application, "/ws/me/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
                        user=reviewer)
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json())["kind"] == "hello"
        await sync_to_async(actions.request_review)(author, mr, reviewer.username)
        await sync_to_async(run_tasks)()
        message = await socket.receive_json()
        assert message["kind"] == "notification" and message["unread"] == 1
        assert message["notification"]["reason"] == "review_requested"
        assert message["notification"]["merge_request"] == mr.number
        assert message["notification"]["url"] == f"/repos/{repo.slug}/merge-requests/1/"
        # the author's own action tells the author's socket nothing; reading tells the reviewer's
        await sync_to_async(mark_all_read)(reviewer)
        assert await socket.receive_json() == {"kind": "notifications.read", "unread": 0}
        await socket.disconnect()

    asyncio.run(scenario())


def test_the_header_shows_the_bell_with_the_unread_count(repo, mr, author, reviewer, as_user):
    actions.request_review(author, mr, reviewer.username)
    run_tasks()
    html = as_user(reviewer).get("/notifications/").content.decode()
    assert 'id="notification-bell"' in html and 'data-notifications-socket="/ws/me/"' in html
    assert '<span class="bell-count" data-unread-count>1</span>' in html
    assert "js/notifications.js" in html
    assert "<script>" not in html  # CSP: no inline script


# the pages ------------------------------------------------------------------------------------

def test_notifications_page_lists_marks_one_and_all_read(repo, mr, author, reviewer, maintainer, as_user):
    actions.approve(reviewer, mr)
    actions.review(maintainer, mr, "comment", "hm")
    run_tasks()
    client = as_user(author)
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "rex_reviewer approved !1 Colors" in html and "mia_maintainer reviewed !1 Colors" in html
    first, second = Notification.objects.filter(user=author).order_by("id")
    response = client.post(f"/notifications/{first.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == f"/repos/{repo.slug}/merge-requests/1/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert "rex_reviewer approved" not in client.get("/notifications/?filter=unread").content.decode()
    assert client.post("/notifications/read-all/").status_code == 302
    assert Notification.objects.filter(user=author, read_at__isnull=True).count() == 0


def test_another_users_notification_cannot_be_marked_read(repo, mr, author, reviewer, as_user):
    actions.approve(reviewer, mr)
    run_tasks()
    notification = Notification.objects.get(user=author)
    assert as_user(reviewer).post(f"/notifications/{notification.pk}/read/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_notification_pages_need_a_signed_in_user(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/notifications/preferences/").status_code == 302


def test_preferences_page_turns_emails_off_and_on(author, as_user):
    client = as_user(author)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200 and 'name="email_mentioned"' in page.content.decode()
    # every box but "mentioned" checked
    data = {f"email_{r}": "on" for r in ("review_requested", "review_submitted", "merged", "closed", "alert")}
    assert client.post("/notifications/preferences/", data).status_code == 302
    preference = NotificationPreference.objects.get(user=author)
    assert not preference.email_mentioned and preference.email_review_requested and preference.email_alert
    assert 'name="email_mentioned" id="id_email_mentioned"' in client.get("/notifications/preferences/").content.decode()


# reviewer requests on the merge request page ----------------------------------------------------

def test_author_requests_a_review_on_the_page_and_the_page_shows_it(repo, mr, author, reviewer, as_user):
    client = as_user(author)
    page = client.get(f"/repos/{repo.slug}/merge-requests/1/").content.decode()
    assert 'id="request-review-form"' in page and '<option value="rex_reviewer">' in page
    assert '<option value="vic_viewer">' not in page  # a viewer cannot review
    assert '<option value="ada_author">' not in page
    response = client.post(f"/repos/{repo.slug}/merge-requests/1/reviewers/", {"username": "rex_reviewer"})
    assert response.status_code == 302
    assert list(ReviewRequest.objects.values_list("reviewer__username", flat=True)) == ["rex_reviewer"]
    page = client.get(f"/repos/{repo.slug}/merge-requests/1/").content.decode()
    assert 'data-reviewer="rex_reviewer"' in page
    response = client.post(f"/repos/{repo.slug}/merge-requests/1/reviewers/remove/", {"username": "rex_reviewer"})
    assert response.status_code == 302 and ReviewRequest.objects.count() == 0


def test_review_requests_from_the_page_need_the_author_or_a_maintainer(repo, mr, author, reviewer, viewer,
                                                                         outsider, maintainer, as_user):
    url = f"/repos/{repo.slug}/merge-requests/1/reviewers/"
    assert as_user(viewer).post(url, {"username": "rex_reviewer"}).status_code == 403
    assert as_user(reviewer).post(url, {"username": "mia_maintainer"}).status_code == 403
    assert as_user(outsider).post(url, {"username": "rex_reviewer"}).status_code == 404
    assert ReviewRequest.objects.count() == 0
    assert as_user(maintainer).post(url, {"username": "rex_reviewer"}).status_code == 302
    assert ReviewRequest.objects.get().requested_by == maintainer


def test_only_members_who_may_review_can_be_asked(repo, mr, author, viewer, outsider):
    from pggit_web.errors import ActionError, NotFound

    with pytest.raises(ActionError) as too_low:
        actions.request_review(author, mr, viewer.username)
    assert too_low.value.code == "not_a_reviewer"
    with pytest.raises(NotFound):
        actions.request_review(author, mr, outsider.username)  # as unknown as a user that does not exist
    with pytest.raises(ActionError) as own:
        actions.request_review(author, mr, author.username)
    assert own.value.code == "author_cannot_review"
    assert ReviewRequest.objects.count() == 0 and not Event.objects.filter(kind=EventKind.MR_REVIEW_REQUESTED)
