"""The persistent, incremental shadow used for merge verification (``Shadow.verify``): the shadow
records the state it holds (``pggit_shadow.state``), the next merge is verified by migrating from
there in one transaction, and whatever makes the marker unusable falls back to a full replay.
Every test runs against real databases and compares schema dumps."""

from __future__ import annotations

import subprocess

import pytest


import pgtools
from pggit import Client
from pggit.errors import ShadowReplayError
from pggit.shadow import MARKER_SCHEMA


def run(server, db, *statements):
    with server.connect(db) as conn:
        for s in statements:
            conn.execute(s)


def dump_without_marker(server, dbname: str) -> str:
    """Normalized schema-only dump without the engine's schema and the shadow's marker schema."""
    proc = subprocess.run(
        [str(server.pg_dump_path), "--schema-only", "--no-owner", "--no-privileges", "--exclude-schema=pggit",
         f"--exclude-schema={MARKER_SCHEMA}", "-d", server.dsn_for(dbname)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return pgtools.normalize_dump(proc.stdout)


def fresh_replay_dump(server, make_db, client: Client, ref: str) -> str:
    """Dump of an empty database into which the whole state of ``ref`` was replayed."""
    db = make_db()
    rows = client._state_rows(ref)
    with server.connect(db) as conn:
        with conn.transaction():
            for r in rows:
                conn.execute(r["statement"].encode())
    return dump_without_marker(server, db)


def shadow_dump(server, client: Client) -> str:
    return dump_without_marker(server, client.shadow.name)


def setup_branches(server, db, client: Client) -> None:
    """main: items(id, a, c), other(id, x), a view on it and a function; branches A (target), B1, B2, C, each
    changed through apply (which leaves an engine in the shadow)."""
    run(server, db,
        "CREATE TABLE items (id int PRIMARY KEY, a int, c int)",
        "CREATE TABLE other (id int PRIMARY KEY, x int)",
        "CREATE VIEW items_v AS SELECT id, a FROM items",
        "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$")
    for b in ("A", "B1", "B2", "C"):
        client.create_branch(b)
    client.apply("A", "ALTER TABLE items DROP COLUMN c; CREATE TABLE on_a (id int)")
    client.apply("B1", "CREATE TABLE b1 (id int PRIMARY KEY, note text); CREATE INDEX b1_note ON b1 (note)")
    client.apply("B2", "ALTER TABLE other ADD COLUMN d text; "
                       "CREATE OR REPLACE VIEW items_v AS SELECT id, a, 1 AS one FROM items; "
                       "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 2 $$; "
                       "CREATE SCHEMA s2; CREATE TABLE s2.t (id int)")
    client.apply("C", "CREATE VIEW v AS SELECT id, c FROM items")


def test_second_merge_is_verified_incrementally(repo, make_db):
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow

    first = client.merge("B1", target="A")
    assert first["status"] == "merged", first
    assert shadow.last_mode == "full"  # apply left an engine in the shadow: no marker
    assert shadow.marker() == {"ref": f"merge:{first['merge_id']}", "engine": False}

    second = client.merge("B2", target="A")
    assert second["status"] == "merged", second
    assert second["shadow_ms"] is not None
    assert shadow.last_mode == "incremental", shadow.last_fallback
    full_count = len(client._state_rows(f"merge:{second['merge_id']}"))
    assert 0 < shadow.last_statements < full_count
    assert shadow.marker() == {"ref": f"merge:{second['merge_id']}", "engine": False}

    # the shadow holds exactly what a fresh replay of the merged state (= A's head) gives
    expected = fresh_replay_dump(server, make_db, client, "A")
    pgtools.assert_same_dump(expected, shadow_dump(server, client), "fresh replay of A", "incremental shadow")
    assert "on_a" in expected and "b1_note" in expected and "s2.t" in expected


def test_semantic_conflict_found_incrementally_leaves_shadow_unchanged(repo):
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    first = client.merge("B1", target="A")
    assert first["status"] == "merged"
    marker_before = shadow.marker()
    dump_before = shadow_dump(server, client)

    result = client.merge("C", target="A")  # C's view reads items.c, which A dropped
    assert shadow.last_mode == "incremental", shadow.last_fallback
    assert result["status"] == "conflicts" and result["commit_id"] is None
    [conflict] = result["conflicts"]
    assert conflict["identity"] == "view public.v"
    assert "does not exist" in conflict["error"]
    assert shadow.marker() == marker_before
    pgtools.assert_same_dump(dump_before, shadow_dump(server, client), "shadow before", "shadow after")

    # resolving it verifies again, incrementally from the unchanged marker, and completes
    done = client.resolve_conflict(result["merge_id"], "view public.v", "target")
    assert done["status"] == "merged", done
    assert shadow.marker() == {"ref": f"merge:{result['merge_id']}", "engine": False}


def test_apply_in_between_leaves_the_verification_shadow_warm(repo, make_db):
    """apply runs in its own shadow database: the verification shadow keeps its state."""
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    assert client.merge("B1", target="A")["status"] == "merged"
    marker = shadow.marker()
    assert marker is not None

    client.apply("C", "CREATE TABLE c_more (id int)")  # materializes C with an engine in the apply shadow
    assert client.apply_shadow.name != shadow.name and shadow.marker() == marker

    second = client.merge("B2", target="A")
    assert second["status"] == "merged"
    assert shadow.last_mode == "incremental", shadow.last_fallback
    assert shadow.marker() == {"ref": f"merge:{second['merge_id']}", "engine": False}
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, "A"), shadow_dump(server, client))


def test_next_apply_migrates_the_apply_shadow_from_the_state_the_last_left(repo):
    """The second apply migrates the apply shadow from the commit the first one made (as the
    shadow role, captured by the shadow engine): what it commits is what a full replay gives."""
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.apply_shadow
    first = client.apply("C", "CREATE TABLE c_one (id int)")
    assert first is not None and shadow.marker()["ref"].split()[0] == first
    second = client.apply("C", "ALTER TABLE c_one ADD COLUMN label text; CREATE VIEW c_v AS SELECT id FROM c_one")
    assert shadow.last_mode == "incremental", shadow.last_fallback
    changed = {c["identity"]: c["change"] for c in client.diff(first, second)}
    assert changed == {"table public.c_one": "modified", "view public.c_v": "added"}
    with pytest.raises(ShadowReplayError):  # a failing apply leaves the state (and marker) it had
        client.apply("C", "CREATE TABLE c_two (id int); SELECT 1/0")
    assert shadow.marker()["ref"].split()[0] == second
    assert client.apply("A", "CREATE TABLE a_more (id int)") and shadow.last_mode == "incremental"  # another branch
    # a marker of another engine version, or of a state the live database does not know, is not used
    with shadow.connect() as conn:
        conn.execute(f"UPDATE {MARKER_SCHEMA}.state SET ref = %s", (f"{second} 0.0.1",))
    third = client.apply("C", "CREATE TABLE c_three (id int)")
    # (made again from the state the first cold apply kept, see test_shadow_templates.py)
    assert shadow.last_mode == "template" and "no marker of a state with this engine" in shadow.last_fallback
    assert {c["identity"] for c in client.diff(second, third)} == {"table public.c_three"}
    shadow.drop_templates()
    with shadow.connect() as conn:
        conn.execute(f"UPDATE {MARKER_SCHEMA}.state SET ref = %s", (f"{third} 0.0.1",))
    fourth = client.apply("C", "CREATE TABLE c_four (id int)")
    assert shadow.last_mode == "full" and {c["identity"] for c in client.diff(third, fourth)} == {"table public.c_four"}


def test_engine_recorded_in_marker_forces_full_replay(repo):
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    assert client.merge("B1", target="A")["status"] == "merged"
    run(server, shadow.name, f"UPDATE {MARKER_SCHEMA}.state SET engine = true")
    shadow.drop_templates()  # (else the shadow is made from the state the first merge kept)
    assert client.merge("B2", target="A")["status"] == "merged"
    assert shadow.last_mode == "full" and "engine" in shadow.last_fallback


def test_unresolvable_marker_falls_back_to_full_replay(repo, make_db):
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    assert client.merge("B1", target="A")["status"] == "merged"
    run(server, shadow.name, f"UPDATE {MARKER_SCHEMA}.state SET ref = '{'0' * 40}'")
    shadow.drop_templates()  # (else the shadow is made from the state the first merge kept)

    second = client.merge("B2", target="A")
    assert second["status"] == "merged"
    assert shadow.last_mode == "full" and "names no known state" in shadow.last_fallback
    assert shadow.marker() == {"ref": f"merge:{second['merge_id']}", "engine": False}
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, "A"), shadow_dump(server, client))


def test_marker_on_a_commit_id_is_used(repo, make_db):
    """A marker naming a commit (e.g. set by ``replay(rows, ref)``) is migrated from too."""
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    a_head = client.resolve("A")
    shadow.replay(client._state_rows(a_head), a_head)
    assert shadow.marker() == {"ref": a_head, "engine": False}
    assert client.merge("B2", target="A")["status"] == "merged"
    assert shadow.last_mode == "incremental", shadow.last_fallback
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, "A"), shadow_dump(server, client))


def test_failure_that_is_no_steps_fault_falls_back(repo, monkeypatch):
    """An incremental transaction failing for another reason than a step (here: forced to look
    like out of shared memory) falls back to the full replay, which then succeeds."""
    server, db, client = repo
    setup_branches(server, db, client)
    shadow = client.shadow
    assert client.merge("B1", target="A")["status"] == "merged"

    real_rows = client._migration_rows

    def rows(from_ref, to_ref):  # the incremental transaction fails; the full replay's does not
        out = real_rows(from_ref, to_ref)
        if from_ref is not None:
            out = out + [{"step": 10 ** 6, "kind": "table", "identity": "table public.x",
                          "statement": "DO $$ BEGIN RAISE EXCEPTION 'out of shared memory' USING ERRCODE = '53200'; END $$;"}]
        return out

    monkeypatch.setattr(client, "_migration_rows", rows)
    second = client.merge("B2", target="A")
    assert second["status"] == "merged", second
    assert shadow.last_mode == "full" and "out of shared memory" in shadow.last_fallback
    monkeypatch.undo()
    assert shadow.marker() == {"ref": f"merge:{second['merge_id']}", "engine": False}
