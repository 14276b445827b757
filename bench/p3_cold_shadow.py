"""P3 (shadow warmth): a merge verification and an ``apply`` at 10,000 objects, cold (no usable
shadow state) against warm (the state the last operation left).

The base is P3's (bench/p3_merge.py): --tables tables with an index each, views and functions,
4 x 2,500 = 10,000 objects by default, captured on main; branch ``feat`` gets a table per apply.

Timed (min and median of --runs runs), each against its baseline measured in the same run:
  * verification of feat's head: cold (no shadow: a full replay, what every verification after an
    apply did before apply had a shadow of its own) and after an apply (the verification shadow
    is untouched by it: incremental)
  * apply on feat: cold (no apply shadow: replay, install the shadow engine, its initial import)
    and the next one (the apply shadow migrates from the commit the last apply made)
Goal: under 1 s at 10k objects.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _build import log
from _common import scratch_db, server_dsn
from p3_merge import Schema, grouped_commit

import psycopg
from pggit import Client


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
    args = ap.parse_args()
    schema = Schema(args.tables, args.views, args.functions, args.schemas)
    dsn = server_dsn()
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
        client.apply("feat", "CREATE TABLE public.feat_0 (id int)")  # (fills the caches once, untimed)
        shadow = client.shadow
        feat = client.resolve("feat")

        apply_shadow = client.apply_shadow
        cold_verify, warm_verify, cold_apply, warm_apply, modes = [], [], [], [], []
        n = 0
        for _ in range(args.runs):
            shadow.drop()
            cold_verify.append(timed(lambda: shadow.verify(feat)))  # no shadow: full replay
            modes.append(("cold verification", shadow.last_mode))
            apply_shadow.drop()
            n += 1
            cold_apply.append(timed(lambda: client.apply("feat", f"CREATE TABLE public.feat_{n} (id int)")))
            modes.append(("cold apply", apply_shadow.last_mode))
            n += 1
            warm_apply.append(timed(lambda: client.apply("feat", f"CREATE TABLE public.feat_{n} (id int)")))
            modes.append(("next apply", apply_shadow.last_mode))
            feat = client.resolve("feat")
            warm_verify.append(timed(lambda: shadow.verify(feat)))  # after the applies: from its own state
            modes.append(("verification after apply", shadow.last_mode))
        made = {f"table public.feat_{i}" for i in range(n + 1)}
        assert {r["identity"] for r in client.tree("feat")} >= made, "an apply lost a table"
        major = conn.info.server_version // 10000
        client.drop_shadow()
        client.close()

    def line(label, xs, base):
        ratio = statistics.median(xs) / statistics.median(base)
        goal = "met" if statistics.median(xs) < 1 else "NOT met"
        print(f"  {label:<42}{fmt(xs)}   ratio {ratio:.3f}  (goal < 1 s: {goal})")

    print(f"P3 shadow warmth, PostgreSQL {major}: {objects} objects")
    print(f"  cold verification (full replay, baseline) {fmt(cold_verify)}")
    line("verification after an apply", warm_verify, cold_verify)
    print(f"  cold apply (baseline)                     {fmt(cold_apply)}")
    line("next apply (incremental)", warm_apply, cold_apply)
    print("  modes: " + ", ".join(sorted({f"{k}: {v}" for k, v in modes})))


if __name__ == "__main__":
    main()
