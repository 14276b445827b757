"""merges.risk: which migration statements a reviewer is warned about."""

from merges.risk import created_tables, risky_steps, unquote_name


def kinds(steps, **kw):
    kw.setdefault("live_rows", {})
    return [(w.kind, w.table) for w in risky_steps(steps, **kw)]


def test_each_kind_of_risky_step_is_found_with_its_statement():
    steps = [
        "DROP TABLE public.old;",
        "ALTER TABLE public.t DROP COLUMN c;",
        "ALTER TABLE public.t ALTER COLUMN n TYPE bigint USING n::bigint;",
        "ALTER TABLE public.t ALTER COLUMN s SET NOT NULL;",
        "ALTER TABLE public.t ADD COLUMN must integer NOT NULL;",
        "CREATE INDEX t_n_idx ON public.t USING btree (n);",
    ]
    found = risky_steps(steps, live_rows={"public.t": 500_000.0, "public.old": 3.0},
                        data_loss=[{"statement": "ALTER TABLE public.t DROP COLUMN c;"}])
    assert [w.kind for w in found] == ["drop_table", "drop_column", "type_change", "set_not_null",
                                       "add_not_null_column", "index_without_concurrently"]
    assert found[0].loses_data and found[1].loses_data and not found[2].loses_data
    assert found[5].statement == "CREATE INDEX t_n_idx ON public.t USING btree (n);"


def test_new_tables_small_tables_and_safe_steps_are_not_flagged():
    steps = [
        "CREATE TABLE public.fresh (id integer NOT NULL);",
        "ALTER TABLE public.fresh ALTER COLUMN id SET NOT NULL;",
        "CREATE INDEX fresh_idx ON public.fresh (id);",
        "CREATE INDEX small_idx ON public.small (id);",
        "CREATE INDEX CONCURRENTLY big_idx ON public.big (id);",
        "ALTER TABLE public.t ADD COLUMN ok integer NOT NULL DEFAULT 0;",
        "ALTER TABLE public.t ADD COLUMN maybe text;",
    ]
    assert kinds(steps, live_rows={"public.small": 10.0, "public.big": 10_000_000.0}) == []


def test_quoted_names_are_read_as_the_engine_spells_them():
    assert unquote_name('public."Odd ""x"" ✓"') == 'public.Odd "x" ✓'
    steps = ['CREATE TABLE public."New ""one""" (id integer);', 'ALTER TABLE public."New ""one""" DROP COLUMN id;',
             'ALTER TABLE "my schema"."T" DROP COLUMN "a b";']
    assert created_tables(steps) == {'public.New "one"'}
    found = risky_steps(steps, live_rows={})
    assert [(w.kind, w.table) for w in found] == [("drop_column", 'public.New "one"'), ("drop_column", "my schema.T")]
    assert "a b" in found[1].message
