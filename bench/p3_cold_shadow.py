"""P3 (shadow warmth): a merge verification and an ``apply`` at 10,000 objects, cold against warm.

The base is P3's (bench/p3_merge.py): --tables tables with an index each, views and functions,
4 x 2,500 = 10,000 objects by default, captured on main; branch ``feat`` gets a table per apply.

Timed (min and median of --runs runs), each against its baseline measured in the same run:
  * verification of feat's head: with no shadow and no kept state (a full replay, then the state
    is kept: the baseline); cold (no shadow, but the repository has history) with the kept
    state's spare ready (renamed to the shadow: no copy on the path), and with no spare (the kept
    state a few commits back is copied with CREATE DATABASE ... TEMPLATE: what a cold start did
    before spares); with the shadow there but holding no known state (its marker dropped by
    ``run``: the shadow is set aside, renamed, and dropped in the background, not on the path),
    spare ready; and after an apply (the verification shadow is untouched by it: incremental)
  * apply on feat: with no apply shadow and no kept state (replay, install the shadow engine, its
    initial import; the state is kept: the baseline); cold from the kept state one commit back,
    with its spare ready and with none, and with the shadow there holding no known state; and the
    next one (the apply shadow migrates from the commit the last apply made)
  * the spare's copy, made in the background after each cold start (CREATE DATABASE ... TEMPLATE
    <kept state>), each waited for before the next timing so that it does not run under one
--strategy picks CREATE DATABASE's STRATEGY for the copies (PostgreSQL 15+): file_copy, wal_log,
or both (each measured in its own rounds). Goal: under 1 s at 10k objects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _build import log
from _common import scratch_db, server_dsn
from p3_merge import Schema, grouped_commit

import psycopg
from pggit import Client
from pggit.shadow import Shadow


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fmt(xs: list[float]) -> str:
    return f"min {min(xs):6.2f} s, median {statistics.median(xs):6.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=2500)
    ap.add_argument("--views", type=int, default=2500)
    ap.add_argument("--functions", type=int, default=2500)
    ap.add_argument("--schemas", type=int, default=4)
    ap.add_argument("--group", type=int, default=250)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-runs", type=int, default=1,
                    help="runs of the cases without a kept state (a cold apply without one takes minutes)")
    ap.add_argument("--strategy", choices=["file_copy", "wal_log", "both"], default="both",
                    help="both: WAL_LOG rounds first (the baseline is measured with them), then FILE_COPY")
    args = ap.parse_args()
    schema = Schema(args.tables, args.views, args.functions, args.schemas)
    strategies = ["wal_log", "file_copy"] if args.strategy == "both" else [args.strategy]
    dsn = server_dsn()
    figures: dict[str, dict[str, list[float]]] = {s: {} for s in strategies}
    modes: set[str] = set()
    with scratch_db(dsn, "pggit_p3c") as engine_dsn, psycopg.connect(engine_dsn, autocommit=True) as conn:
        client = Client(engine_dsn)
        client.install()
        log("building the base on main")
        t0 = time.perf_counter()
        for n, group in enumerate(schema.base_groups(args.group), 1):
            grouped_commit(conn, f"P3 base, part {n}", group)
        objects = conn.execute("SELECT count(*) FROM pggit.tree('main')").fetchone()[0]
        log(f"  {objects} objects in {time.perf_counter() - t0:.1f} s")
        client.create_branch("feat")
        shadow, apply_shadow = client.shadow, client.apply_shadow
        n = 0

        def apply_one() -> None:
            nonlocal n
            n += 1
            client.apply("feat", f"CREATE TABLE public.feat_{n} (id int)")

        def note(label: str, s: Shadow) -> None:
            modes.add(f"{label}: {s.last_mode}")
            if s.last_template:  # (of a cold start: the shadow made a copy of the kept state, by rename or copy)
                f.setdefault(f"start {label}", []).append(s.last_start_ms / 1000)

        def ready(s: Shadow) -> None:  # the spare made (and waited for) before the next timing
            s.wait_for_spares()
            s.make_spares()
            assert any(sp["why"] is None for sp in s.spares_list()), s.spares_list()

        def copied(label: str, s: Shadow) -> None:  # the background copy a cold start set off
            s.wait_for_spares()
            if s.last_spare_ms is not None:
                f.setdefault(label, []).append(s.last_spare_ms / 1000)
                s.last_spare_ms = None

        def without_spare(s: Shadow, fn) -> float:  # a cold start as before spares: the kept state copied
            s.drop_spares()
            Shadow.spares = False
            try:
                return timed(fn)
            finally:
                Shadow.spares = True

        for strategy in strategies:
            Shadow.template_strategy = strategy
            f = figures[strategy]
            for run in range(max(args.runs, args.baseline_runs)):
                log(f"{strategy}, run {run + 1}")
                if run < args.baseline_runs and strategy == strategies[0]:  # (the copies differ, not the replay)
                    apply_shadow.drop_templates()
                    apply_shadow.drop()
                    f.setdefault("full_apply", []).append(timed(apply_one))  # replay + engine; kept
                    note("apply without a kept state", apply_shadow)
                    copied("apply_spare_copy", apply_shadow)
                    shadow.drop_templates()
                    shadow.drop()
                    feat = client.resolve("feat")
                    f.setdefault("full_verify", []).append(timed(lambda: shadow.verify(feat)))  # full; kept
                    note("verification without a kept state", shadow)
                    copied("verify_spare_copy", shadow)
                if run >= args.runs:
                    continue
                apply_one()  # (the kept verification state is now a few commits behind)
                ready(apply_shadow)
                apply_shadow.drop()
                f.setdefault("cold_apply", []).append(timed(apply_one))  # the spare renamed
                note("cold apply, spare ready", apply_shadow)
                assert apply_shadow.last_spare, apply_shadow.last_spare_why
                copied("apply_spare_copy", apply_shadow)
                apply_shadow.drop()
                f.setdefault("copy_apply", []).append(without_spare(apply_shadow, apply_one))  # the kept state copied
                note("cold apply, no spare", apply_shadow)
                assert apply_shadow.last_spare is None and apply_shadow.last_template
                ready(apply_shadow)
                apply_shadow.run("SELECT 1")  # (the marker is gone: the shadow is there but holds no known state)
                f.setdefault("aside_apply", []).append(timed(apply_one))
                note("cold apply, shadow set aside", apply_shadow)
                assert apply_shadow.last_spare, apply_shadow.last_spare_why
                ready(apply_shadow)
                f.setdefault("warm_apply", []).append(timed(apply_one))
                note("next apply", apply_shadow)
                feat = client.resolve("feat")
                ready(shadow)
                shadow.drop()
                f.setdefault("cold_verify", []).append(timed(lambda: shadow.verify(feat)))
                note("cold verification, spare ready", shadow)
                assert shadow.last_spare, shadow.last_spare_why
                copied("verify_spare_copy", shadow)
                shadow.drop()
                f.setdefault("copy_verify", []).append(without_spare(shadow, lambda: shadow.verify(feat)))
                note("cold verification, no spare", shadow)
                assert shadow.last_spare is None and shadow.last_template
                ready(shadow)
                shadow.run("SELECT 1")
                f.setdefault("aside_verify", []).append(timed(lambda: shadow.verify(feat)))
                note("cold verification, shadow set aside", shadow)
                assert shadow.last_spare, shadow.last_spare_why
                ready(shadow)
                apply_one()
                feat = client.resolve("feat")
                f.setdefault("warm_verify", []).append(timed(lambda: shadow.verify(feat)))
                note("verification after an apply", shadow)
                ready(apply_shadow)
        made = {f"table public.feat_{i}" for i in range(1, n + 1)}
        assert {r["identity"] for r in client.tree("feat")} >= made, "an apply lost a table"
        major = conn.info.server_version // 10000
        client.drop_shadow()
        client.close()

    def line(label, xs, base, start=None):
        ratio = statistics.median(xs) / statistics.median(base)
        goal = "met" if statistics.median(xs) < 1 else "NOT met"
        print(f"  {label:<50}{fmt(xs)}   ratio {ratio:.3f}  (goal < 1 s: {goal})")
        runs = ", ".join(f"{x:.2f}" for x in xs)
        of = f"; of which the shadow made: {', '.join(f'{x:.2f}' for x in start)} s" if start else ""
        print(f"  {'':<50}runs: {runs} s{of}")

    print(f"P3 shadow warmth, PostgreSQL {major}: {objects} objects")
    for strategy, f in figures.items():
        print(f" copies with STRATEGY {strategy.upper()}" + (" (ignored before 15)" if major < 15 else ""))
        base = figures[strategies[0]]
        print(f"  {'verification, no kept state (baseline)':<50}{fmt(base['full_verify'])}")
        line("cold verification, spare ready (renamed)", f["cold_verify"], base["full_verify"],
             f.get("start cold verification, spare ready"))
        line("cold verification, no spare (kept state copied)", f["copy_verify"], base["full_verify"],
             f.get("start cold verification, no spare"))
        line("cold verification, shadow there (set aside)", f["aside_verify"], base["full_verify"],
             f.get("start cold verification, shadow set aside"))
        line("verification after an apply", f["warm_verify"], base["full_verify"])
        print(f"  {'apply, no kept state (baseline)':<50}{fmt(base['full_apply'])}")
        line("cold apply, spare ready (renamed)", f["cold_apply"], base["full_apply"], f.get("start cold apply, spare ready"))
        line("cold apply, no spare (kept state copied)", f["copy_apply"], base["full_apply"], f.get("start cold apply, no spare"))
        line("cold apply, shadow there (set aside)", f["aside_apply"], base["full_apply"],
             f.get("start cold apply, shadow set aside"))
        line("next apply (incremental)", f["warm_apply"], base["full_apply"])
        for label in ("verify_spare_copy", "apply_spare_copy"):
            if f.get(label):
                print(f"  {'spare made in the background (' + label.split('_')[0] + ')':<50}{fmt(f[label])}   (off the path)")
    print("  modes: " + ", ".join(sorted(modes)))
    print("  load average at the end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
