"""Data branches against a model (Hypothesis stateful): random inserts, updates and deletes on
both sides of a fork, with a second branch made midway. Each branch always equals its snapshot of
the checked-out rows plus its own writes, the checked-out table never changes from a branch's
writes, and data_diff and the three-way merge agree with the model. Then the types that make
equality hard, round-tripped through a branch and a merge."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pggit import Client

KEYS = st.integers(min_value=1, max_value=30)
VALUES = st.one_of(st.none(), st.text(alphabet="ab'\" é✓", max_size=4))


def _state(conn: psycopg.Connection, table: str) -> dict:
    return {k: (a, b) for k, a, b in conn.execute(f"SELECT id, a, b FROM {table}").fetchall()}


@pytest.mark.parametrize("seed_rows", [10])
def test_branches_follow_the_model(repo, seed_rows):
    server, db, client = repo
    dsn = server.dsn_for(db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.m (id int PRIMARY KEY, a text, b int)")

    class Model(RuleBasedStateMachine):
        @initialize()
        def fork(self):
            self.main = psycopg.connect(dsn, autocommit=True)
            for branch in [b["branch"] for b in client.data_branches()]:
                client.delete_branch(branch, force=True)
            self.main.execute("TRUNCATE public.m")
            self.main.execute("INSERT INTO public.m SELECT g, 'v' || g, g FROM generate_series(1, %s) g", (seed_rows,))
            self.model_main = _state(self.main, "public.m")
            self.branches: dict[str, tuple[psycopg.Connection, dict]] = {}
            self._make("one")

        def _make(self, name: str) -> None:
            client.create_branch(name, with_data=True)
            self.branches[name] = (psycopg.connect(client.data_dsn(name), autocommit=True), dict(self.model_main))

        def teardown(self):
            self.main.close()
            for conn, _ in self.branches.values():
                conn.close()

        def _write(self, conn, table: str, model: dict, op: str, key: int, a, b) -> None:
            if op == "upsert":
                if key in model:
                    conn.execute(f"UPDATE {table} SET a = %s, b = %s WHERE id = %s", (a, b, key))
                else:
                    conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (key, a, b))
                model[key] = (a, b)
            else:
                conn.execute(f"DELETE FROM {table} WHERE id = %s", (key,))
                model.pop(key, None)

        @rule(op=st.sampled_from(["upsert", "delete"]), key=KEYS, a=VALUES, b=st.integers(-3, 3))
        def write_main(self, op, key, a, b):
            self._write(self.main, "public.m", self.model_main, op, key, a, b)

        @rule(which=st.sampled_from(["one", "two"]), op=st.sampled_from(["upsert", "delete"]), key=KEYS, a=VALUES,
              b=st.integers(-3, 3))
        def write_branch(self, which, op, key, a, b):
            if which in self.branches:
                conn, model = self.branches[which]
                self._write(conn, "m", model, op, key, a, b)

        @precondition(lambda self: "two" not in self.branches)
        @rule()
        def second_branch(self):
            self._make("two")

        @invariant()
        def every_side_is_its_model(self):
            assert _state(self.main, "public.m") == self.model_main
            for conn, model in self.branches.values():
                assert _state(conn, "m") == model

        @invariant()
        def data_diff_is_the_difference_of_the_models(self):
            conn, model = self.branches["one"]
            diff = {d["key"]["id"]: d["change"] for d in client.data_diff("HEAD", "one")}
            expected = {}
            for k in set(model) | set(self.model_main):
                if k not in self.model_main:
                    expected[k] = "added"
                elif k not in model:
                    expected[k] = "deleted"
                elif model[k] != self.model_main[k]:
                    expected[k] = "changed"
            assert diff == expected

    Model.TestCase.settings = settings(max_examples=12, stateful_step_count=25, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    Model.TestCase().runTest()


def test_merge_of_disjoint_changes_equals_both_sides_applied(repo):
    """Random writes on disjoint keys: the merge has no conflict and yields the checked-out rows
    with the branch's writes applied."""
    import random

    server, db, client = repo
    dsn = server.dsn_for(db)
    rng = random.Random(7)
    with psycopg.connect(dsn, autocommit=True) as main:
        main.execute("CREATE TABLE public.d (id int PRIMARY KEY, a text, b int)")
        main.execute("INSERT INTO public.d SELECT g, 'v' || g, g FROM generate_series(1, 200) g")
        client.create_branch("f", with_data=True)
        expected = _state(main, "public.d")
        with psycopg.connect(client.data_dsn("f"), autocommit=True) as branch:
            for _ in range(150):
                key = rng.randrange(1, 400)
                side, table = (branch, "d") if key % 2 else (main, "public.d")
                if rng.random() < 0.3:
                    side.execute(f"DELETE FROM {table} WHERE id = %s", (key,))
                    expected.pop(key, None)
                else:
                    value = (f"x{rng.random():.3f}", rng.randrange(100))
                    side.execute(f"INSERT INTO {table} VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET a = EXCLUDED.a, b = EXCLUDED.b"
                                 if table == "public.d" else
                                 f"WITH u AS (UPDATE {table} SET a = %s, b = %s WHERE id = %s RETURNING 1) "
                                 f"INSERT INTO {table} SELECT %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM u)",
                                 (key, *value) if table == "public.d" else (*value, key, key, *value))
                    expected[key] = value
        result = client.merge_data("f")
        assert [r["status"] for r in result] == ["merged"], result
        assert _state(main, "public.d") == expected


TYPED = """CREATE TABLE public.typed (
    k1 int, k2 text COLLATE "C", n numeric, f float8, j json, jb jsonb, arr int[], by bytea, big text,
    t timestamptz, g int GENERATED ALWAYS AS (k1 * 2) STORED, ident int GENERATED BY DEFAULT AS IDENTITY,
    PRIMARY KEY (k1, k2))"""


def test_hard_types_survive_a_branch_and_a_merge(repo):
    server, db, client = repo
    dsn = server.dsn_for(db)
    with psycopg.connect(dsn, autocommit=True) as main:
        main.execute(TYPED)
        main.execute("INSERT INTO public.typed (k1, k2, n, f, j, jb, arr, by, big, t) VALUES "
                     "(1, 'a', 1.0, 'NaN', '{\"a\": 1}', '{\"a\": 1}', '{1,NULL}', '\\x00ff', repeat('z', 100000), now()),"
                     "(2, 'b''\"', NULL, '-0', NULL, NULL, NULL, NULL, NULL, NULL)")
        client.create_branch("f", with_data=True)
        with psycopg.connect(client.data_dsn("f"), autocommit=True) as branch:
            # the same values written again: numeric scale, NaN, json spacing are not changes of the value
            branch.execute("UPDATE typed SET n = 1.00, f = 'NaN', jb = '{\"a\":1}' WHERE k1 = 1")
            assert client.data_diff("HEAD", "f") == []
            # json has no equality: compared as text, other spacing is a change
            branch.execute("UPDATE typed SET j = '{\"a\":1}' WHERE k1 = 1")
            assert [d["columns"] for d in client.data_diff("HEAD", "f")] == [["j"]]
            branch.execute("UPDATE typed SET j = '{\"a\": 1}' WHERE k1 = 1")
            assert client.data_diff("HEAD", "f") == []
            branch.execute("UPDATE typed SET big = big || 'y', by = '\\xdead', arr = '{2,NULL,3}', "
                           "n = 3.14159265358979323846 WHERE k1 = 1")
            branch.execute("INSERT INTO typed (k1, k2, f) VALUES (3, 'c', 1e-300)")
            [changed, added] = client.data_diff("HEAD", "f")
            assert set(changed["columns"]) == {"n", "arr", "by", "big"} and added["change"] == "added"
        result = client.merge_data("f")
        assert [r["status"] for r in result] == ["merged"], result
        got = main.execute("SELECT k1, n::text, f::text, arr::text, encode(by, 'hex'), length(big), g, ident IS NOT NULL "
                           "FROM public.typed ORDER BY k1").fetchall()
        assert got == [(1, "3.14159265358979323846", "NaN", "{2,NULL,3}", "dead", 100001, 2, True),
                       (2, None, "-0", None, None, None, 4, True),
                       (3, None, "1e-300", None, None, None, 6, True)]
