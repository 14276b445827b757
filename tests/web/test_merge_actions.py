"""Merge request actions against a real engine: roles, approvals, dismissal, merge, conflicts."""

import psycopg
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from merges import actions
from merges.models import MergeRequest, Review
from pggit.client import Client
from pggit_web.errors import ActionError, Conflict, Rejected

pytestmark = pytest.mark.django_db(transaction=True)


def live(repo, sql):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(sql)


def open_request(repo, author, **kw):
    kw.setdefault("title", "Colors for widgets")
    return actions.open_merge_request(author, repo, source=kw.pop("source", "feature-colors"),
                                      target=kw.pop("target", "main"), **kw)


def test_developer_opens_numbered_request_and_outsider_sees_nothing(repo, author, viewer, outsider):
    mr = open_request(repo, author)
    assert (mr.number, mr.state, mr.source_head) == (1, "open", Client(repo.dsn).resolve("feature-colors"))
    with pytest.raises(PermissionDenied):
        open_request(repo, viewer, title="other")
    with pytest.raises(Http404):
        open_request(repo, outsider, title="other")
    with pytest.raises(Conflict):
        open_request(repo, author, title="again")  # one open request per source and target
    with pytest.raises(ActionError):
        open_request(repo, author, source="no such branch", title="x")
    assert MergeRequest.objects.count() == 1


def test_author_cannot_approve_own_request_and_reviewer_approval_meets_the_rule(repo, author, reviewer):
    mr = open_request(repo, author)
    with pytest.raises(PermissionDenied):
        actions.approve(author, mr)
    actions.approve(reviewer, mr, "looks good")
    mr.refresh_from_db()
    assert mr.state == "approved"
    assert actions.approvals(mr).count == 1


def test_new_commit_on_source_dismisses_approval(repo, author, reviewer):
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    mr = actions.sync(MergeRequest.objects.get(pk=mr.pk))
    assert mr.state == "open"
    assert Review.objects.get(merge_request=mr).dismissed


def test_merge_needs_approval_and_the_merge_role_then_changes_the_live_schema(repo, author, reviewer, maintainer):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    mr = open_request(repo, author)
    with pytest.raises(Conflict):
        actions.merge(maintainer, mr)  # no approval yet
    actions.approve(reviewer, mr)
    with pytest.raises(PermissionDenied):
        actions.merge(author, MergeRequest.objects.get(pk=mr.pk))  # main: maintainers merge
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    mr.refresh_from_db()
    assert outcome.status == "merged" and mr.state == "merged" and mr.merge_commit == outcome.commit
    with psycopg.connect(repo.dsn) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.widgets'::regclass AND attnum > 0")]
    assert "color" in cols
    assert Client(repo.dsn).resolve("main") == mr.merge_commit


def test_preview_lists_migration_and_risky_steps(repo, author):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams; "
                                             "ALTER TABLE public.widgets ALTER COLUMN label TYPE varchar(20)")
    live(repo, "CREATE TABLE public.gadgets (id integer)")  # main moves on: a real three-way merge
    mr = open_request(repo, author)
    p = actions.preview(mr)
    assert p.kind == "merge"
    assert any("DROP COLUMN weight_grams" in s for s in p.statements)
    drop = next(st for st in p.steps if "DROP COLUMN weight_grams" in st["statement"])
    assert (drop["kind"], drop["identity"], drop["reason"]) == ("table", "table public.widgets", "changed")
    kinds = {w.kind for w in p.warnings}
    assert {"drop_column", "type_change"} <= kinds


def test_conflict_resolved_with_custom_text_then_merge(repo, author, reviewer, maintainer):
    client = Client(repo.dsn)
    client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
    live(repo, "ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = open_request(repo, author, strategy="auto")
    open_items, _ = actions.open_conflicts(author, mr)
    mr.refresh_from_db()
    assert [i["identity"] for i in open_items] == ["table public.widgets"]
    item = open_items[0]
    with pytest.raises(Rejected):
        actions.resolve(author, mr, item["identity"], "CREATE TABLE public.widgets (id integer PRIMARY KEY, label nosuchtype);")
    custom = item["source_definition"].replace("shade text", "shade varchar(40)")
    outcome = actions.resolve(author, mr, item["identity"], custom)
    assert outcome.status == "ready"  # waiting for the approval
    actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    assert outcome.status == "merged", outcome
    with psycopg.connect(repo.dsn) as conn:
        t = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         "WHERE attrelid = 'public.widgets'::regclass AND attname = 'shade'").fetchone()[0]
    assert t == "character varying(40)"


def test_close_and_reopen(repo, author, reviewer):
    mr = open_request(repo, author)
    with pytest.raises(PermissionDenied):
        actions.close(reviewer, mr)  # neither author nor maintainer
    actions.close(author, mr)
    mr.refresh_from_db()
    assert mr.state == "closed"
    actions.reopen(author, mr)
    mr.refresh_from_db()
    assert mr.state == "open"


def test_two_maintainers_merging_at_once_make_one_merge(repo, author, reviewer, maintainer, django_user_model):
    import threading

    from branches.access import grant
    from branches.models import Role
    from django.db import connection

    second = django_user_model.objects.create_user("max_maintainer", password="x")
    grant(repo, second, Role.MAINTAINER)
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    live(repo, "CREATE TABLE public.gadgets (id integer)")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def press(user):
        try:
            barrier.wait()
            results.append(actions.merge(user, MergeRequest.objects.get(pk=mr.pk)).status)
        except Exception as exc:  # the loser sees a closed request
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(u,)) for u in (maintainer, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["merged"], (results, errors)
    assert len(errors) == 1 and isinstance(errors[0], Conflict) and errors[0].code == "not_open"
    merges = [c for c in Client(repo.dsn).log("main", 20) if len(c["parent_ids"]) == 2]
    assert len(merges) == 1


def test_changes_requested_blocks_merge_until_the_reviewer_approves(repo, author, reviewer, maintainer):
    mr = open_request(repo, author)
    with pytest.raises(ActionError):
        actions.request_changes(reviewer, mr, "")  # must say what
    actions.request_changes(reviewer, mr, "add a color column")
    mr.refresh_from_db()
    assert mr.state == "changes_requested"
    with pytest.raises(Conflict) as exc:
        actions.merge(maintainer, mr)
    assert exc.value.code == "changes_requested"
    actions.approve(reviewer, mr)
    mr.refresh_from_db()
    assert mr.state == "approved"


def test_draft_cannot_be_approved_until_ready(repo, author, reviewer):
    mr = open_request(repo, author, draft=True)
    with pytest.raises(Conflict):
        actions.approve(reviewer, mr)
    actions.edit(author, mr, draft=False)
    actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
    assert MergeRequest.objects.get(pk=mr.pk).state == "approved"


def test_automatic_merge_runs_when_the_last_approval_arrives(repo, author, reviewer, maintainer):
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text PRIMARY KEY)")
    mr = open_request(repo, author)
    with pytest.raises(PermissionDenied):
        actions.set_auto_merge(author, mr, True)  # main: only maintainers merge
    actions.set_auto_merge(maintainer, mr, True)
    assert MergeRequest.objects.get(pk=mr.pk).state == "open"
    actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
    mr.refresh_from_db()
    assert mr.state == "merged" and mr.merged_by == maintainer
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.colors')").fetchone()[0] == "colors"


@pytest.mark.parametrize("name", ['feat "quoted" branch', "fétiche ✓", "x'); DROP TABLE public.widgets; --"])
def test_hostile_branch_names_go_through_request_and_merge(repo, author, reviewer, maintainer, name):
    client = Client(repo.dsn)
    client.create_branch(name)
    client.apply(name, 'CREATE TABLE public."odd ""table"" ✓" (id integer)')
    mr = open_request(repo, author, source=name, title=f"from {name}")
    actions.approve(reviewer, mr)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    assert outcome.status == "merged"
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("""SELECT to_regclass('public."odd ""table"" ✓"') IS NOT NULL""").fetchone()[0]
        assert conn.execute("SELECT to_regclass('public.widgets') IS NOT NULL").fetchone()[0]


def test_merge_that_would_drop_live_data_is_refused_until_forced(repo, author, reviewer, maintainer):
    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")  # a real three-way merge
    mr = open_request(repo, author)
    p = actions.preview(mr)
    drop = [w for w in p.warnings if w.kind == "drop_column"]
    assert drop and drop[0].loses_data and "weight_grams" in drop[0].statement
    actions.approve(reviewer, mr)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    mr.refresh_from_db()
    assert outcome.status == "refused" and "weight_grams" in outcome.message and mr.state == "approved"
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT weight_grams FROM public.widgets").fetchone()[0] == 12  # untouched
    outcome = actions.merge(maintainer, mr, force=True)
    mr.refresh_from_db()
    assert outcome.status == "merged" and mr.state == "merged"
    with psycopg.connect(repo.dsn) as conn:
        cols = [r[0] for r in conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = "
                                           "'public.widgets'::regclass AND attnum > 0 AND NOT attisdropped")]
    assert "weight_grams" not in cols and "label" in cols


def test_a_review_comment_needs_text(repo, author, viewer):
    mr = open_request(repo, author)
    with pytest.raises(ActionError):
        actions.review(viewer, mr, "comment", "   ")
    actions.review(viewer, mr, "comment", "Why integer?")
    assert [r.body for r in mr.reviews.all()] == ["Why integer?"]


def test_opening_conflicts_on_a_fast_forward_moves_nothing(repo, author):
    client = Client(repo.dsn)
    client.apply("feature-colors", "CREATE TABLE public.colors (name text)")
    main_before = client.resolve("main")
    mr = open_request(repo, author)
    with pytest.raises(Conflict) as exc:
        actions.open_conflicts(author, mr)  # no approval: main must not be fast-forwarded
    assert exc.value.code == "no_conflicts"
    assert client.resolve("main") == main_before
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.colors')").fetchone()[0] is None


def test_a_new_repositorys_default_branch_needs_someone_elses_approval(engine_db, author, reviewer, maintainer,
                                                                       django_user_model):
    """add_repository protects the default branch: 1 approval, not the author's own, maintainers merge."""
    from branches.access import grant
    from branches.actions import add_repository
    from branches.models import Role

    admin = django_user_model.objects.create_superuser("root_admin", "root@example.com", "x-admin-password-1")
    repo, _ = add_repository(admin, name="fresh", dsn=engine_db, install=True)
    grant(repo, author, Role.DEVELOPER)
    grant(repo, reviewer, Role.REVIEWER)
    grant(repo, maintainer, Role.MAINTAINER)
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    main_before = Client(repo.dsn).resolve("main")
    mr = open_request(repo, author)
    with pytest.raises(Conflict):
        actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))  # no approval yet
    with pytest.raises(PermissionDenied):
        actions.approve(author, MergeRequest.objects.get(pk=mr.pk))  # not the author's own
    with pytest.raises(PermissionDenied):
        actions.merge(author, MergeRequest.objects.get(pk=mr.pk))  # developers do not merge into it
    assert Client(repo.dsn).resolve("main") == main_before
    actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    mr.refresh_from_db()
    assert outcome.status == "merged" and mr.state == "merged"
    assert Client(repo.dsn).resolve("main") == mr.merge_commit != main_before


def test_approving_reads_the_reviews_once_and_writes_its_event_with_the_new_approval(
        repo, author, reviewer, django_assert_max_num_queries):
    """The approval records the review in one transaction without asking the engine: the state
    and the event's approvals come from one read of the reviews (10 statements with BEGIN and
    COMMIT; 24 when it synced first and read the reviews three times), 2 read the request's labels
    and assignees for the event's payload, and 4 more send the event to the pages when it
    commits."""
    from monitoring.models import Event

    mr = open_request(repo, author)
    mr = actions.get_merge_request(reviewer, repo.slug, mr.number)
    actions.check_can_review(reviewer, mr, Review.Verdict.APPROVE)  # (the role, read as a page's view would)
    with django_assert_max_num_queries(16):
        actions.approve(reviewer, mr, "ship it")
    mr.refresh_from_db()
    assert mr.state == "approved"
    event = Event.objects.get(kind="merge_request.approved")
    assert event.payload["merge_request"]["state"] == "approved"
    assert event.payload["merge_request"]["approvals"]["count"] == 1
    assert event.payload["review"]["body"] == "ship it"


def test_looking_at_a_request_the_engine_has_nothing_new_for_writes_nothing(repo, author, reviewer):
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    before = MergeRequest.objects.get(pk=mr.pk)
    mr = actions.sync(MergeRequest.objects.get(pk=mr.pk))
    after = MergeRequest.objects.get(pk=mr.pk)
    assert (after.updated_at, after.state) == (before.updated_at, "approved")


def test_an_approval_covers_the_head_the_app_showed_and_a_commit_it_had_not_seen_dismisses_it(
        repo, author, reviewer):
    """Approving does not ask the engine: the review is for the head the request was last
    reconciled at (what the reviewer's page showed). A commit pushed meanwhile is not approved
    with it: the next sync dismisses the approval."""
    mr = open_request(repo, author)
    shown = mr.source_head
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
    rev = Review.objects.get(merge_request=mr)
    assert rev.source_head == shown and MergeRequest.objects.get(pk=mr.pk).state == "approved"
    mr = actions.sync(MergeRequest.objects.get(pk=mr.pk))
    rev.refresh_from_db()
    assert rev.dismissed and mr.state == "open"
    assert mr.source_head == Client(repo.dsn).resolve("feature-colors") != shown
