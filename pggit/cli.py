"""Command-line interface: ``python -m pggit [--dsn URL] COMMAND ...`` (DSN also from PGGIT_DSN).

Exit codes: 0 success, 1 engine error (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime

import psycopg

from .client import Client
from .errors import PggitError


def _short(commit_id: str | None) -> str:
    return (commit_id or "")[:12]


def _when(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


def _print_json(rows) -> None:
    print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))


def cmd_init(client: Client, args) -> int:
    before = client.installed_version()
    after = client.install()
    if before is None:
        print(f"installed pgGit {after}; initial commit {_short(client.resolve('HEAD'))} on {client.current_branch()}")
    elif before == after:
        print(f"pgGit {after} already installed")
    else:
        print(f"upgraded pgGit {before} -> {after}")
    return 0


def cmd_status(client: Client, args) -> int:
    head = client.resolve("HEAD")
    print(f"On branch {client.current_branch()}")
    print(f"HEAD {head}")
    print(f"pgGit {client.version()}")
    return 0


def _output(args, rows: list[dict], line) -> int:
    """Print rows as JSON (--json) or one text line per row."""
    if getattr(args, "json", False):
        _print_json(rows)
    else:
        for r in rows:
            print(line(r))
    return 0


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else ""


def _who(row: dict) -> str:
    """The author, and the role that committed for them when it differs."""
    committer = row.get("committer")
    return f"{row['author']} (by {committer})" if committer else row["author"]


def cmd_log(client: Client, args) -> int:
    return _output(args, client.log(args.ref, args.limit), lambda r: (
        f"{_short(r['commit_id'])}{' (merge)' if len(r['parent_ids']) > 1 else ''}  "
        f"{_when(r['committed_at'])}  {_who(r)}  {_first_line(r['message'])}"))


def cmd_show(client: Client, args) -> int:
    return _output(args, client.show(args.commit), lambda r: f"{r['change']:<9} {r['identity']}")


def cmd_branch(client: Client, args) -> int:
    if args.delete:
        client.delete_branch(args.delete, force=args.force)
        print(f"deleted branch {args.delete}")
    elif args.name:
        head = client.create_branch(args.name, args.start, with_data=args.data)
        print(f"created branch {args.name} at {_short(head)}" + (" with data" if args.data else ""))
    else:
        branches = client.branches()
        width = max((len(b["name"]) for b in branches), default=0)
        for b in branches:  # names padded to the longest, so that the heads line up
            print(f"{'*' if b['is_head'] else ' '} {b['name']:<{width}}  {_short(b['head'])}")
    return 0


def cmd_connect(client: Client, args) -> int:
    print(client.data_dsn(args.branch, args.search_path))
    return 0


def cmd_data_diff(client: Client, args) -> int:
    rows = client.data_diff(args.from_ref, args.to_ref, args.table)
    return _output(args, rows, lambda r: (
        f"{r['change']:<8} {r['table_identity']}  {json.dumps(r['key'], ensure_ascii=False, sort_keys=True)}"
        + (f"  ({', '.join(r['columns'])})" if r["columns"] else "")))


def cmd_merge_data(client: Client, args) -> int:
    """Merge a data branch's rows into the checked-out tables; exit 1 with the conflicts (nothing
    applied) when there are any."""
    resolutions = []
    if args.resolutions:
        with (sys.stdin if args.resolutions == "-" else open(args.resolutions, encoding="utf-8")) as f:
            resolutions = json.load(f)
    rows = client.data_merge_preview(args.branch, resolutions) if args.dry_run else client.merge_data(args.branch, resolutions)
    conflicts = any(r.get("action") == "conflict" for r in rows)
    if args.json:
        _print_json(rows)
        return 1 if conflicts else 0
    for r in rows:
        key = json.dumps(r["key"], ensure_ascii=False, sort_keys=True) if r.get("key") else ""
        if r.get("status") == "merged":
            print(f"merged   {r['table_identity']}  {json.dumps(r['counts'], sort_keys=True)}")
        else:
            cells = f"  ({', '.join(r['columns'])})" if r.get("columns") else ""
            print(f"{r['action']:<8} {r['table_identity']}  {key}{cells}"
                  + (f"  {r['conflict']}" if r.get("conflict") else ""))
    return 1 if conflicts else 0


def cmd_tree(client: Client, args) -> int:
    return _output(args, client.tree(args.ref), lambda r: f"{r['hash'][:12]}  {r['identity']}")


def cmd_diff(client: Client, args) -> int:
    if args.sql:
        print(client.migration_script(args.from_ref, args.to_ref))
        return 0
    return _output(args, client.diff(args.from_ref, args.to_ref), lambda r: f"{r['change']:<9} {r['identity']}")


def cmd_migration(client: Client, args) -> int:
    print(client.migration_script(args.from_ref, args.to_ref))
    return 0


def cmd_blame(client: Client, args) -> int:
    return _output(args, client.blame(args.identity, args.ref), lambda r: (
        f"{_short(r['commit_id'])}  {r['change']:<9} {_when(r['committed_at'])}  {_who(r)}  {_first_line(r['message'])}"))


def cmd_drift(client: Client, args) -> int:
    """Objects changed on the live database behind the engine's back; exit 1 when there are any."""
    rows = client.drift()
    _output(args, rows, lambda r: f"{r['change']:<9} {r['identity']}")
    if not rows and not args.json:
        print("no drift: the live schema matches HEAD", file=sys.stderr)
    return 1 if rows else 0


def _merge_result(row: dict) -> int:
    status = row["status"]
    mid = row.get("merge_id")
    timing = f" (verified in the shadow database in {row['shadow_ms']:.0f} ms)" if row.get("shadow_ms") is not None else ""
    if status == "up_to_date":
        print("already up to date")
    elif status == "fast_forward":
        print(f"fast-forward to {_short(row.get('commit_id'))}")
    elif status == "merged":
        print(f"merged: commit {_short(row.get('commit_id'))} (merge {mid}){timing}")
    elif status == "conflicts":
        conflicts = row.get("conflicts") or []
        print(f"merge {mid}: {len(conflicts)} open item(s){timing}")
        for c in conflicts:
            print(f"  {c.get('conflict_type') or '':<16} {c['identity']}")
            if c.get("error"):
                for line in str(c["error"]).splitlines():
                    print(f"      error: {line}")
        print(f"resolve with: pggit resolve {mid} IDENTITY {{source,target,base,custom}}; or: pggit merge-abort {mid}")
    elif status == "ready" and row.get("error"):
        print(f"merge {mid} not completed: {row['error']}", file=sys.stderr)
        print(f"accept the loss with: pggit merge-complete {mid} --force", file=sys.stderr)
        return 1
    else:
        print(f"merge {mid}: {status}")
    return 0


def cmd_merge_base(client: Client, args) -> int:
    base = client.find_merge_base(args.a, args.b)
    if base is None:
        print("no common ancestor", file=sys.stderr)
        return 1
    print(base)
    return 0


def cmd_conflicts(client: Client, args) -> int:
    return _output(args, client.detect_merge_conflicts(args.source, args.target), lambda r: (
        f"{r['conflict_type']:<16} {'auto  ' if r['auto_resolvable'] else 'manual'} {r['identity']}"))


def cmd_merge(client: Client, args) -> int:
    row = client.merge(args.source, args.into, strategy=args.strategy, message=args.message, verify=not args.no_verify,
                       force=args.force)
    if args.json:
        _print_json(row)
        return 0
    return _merge_result(row)


def _read_file(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def cmd_resolve(client: Client, args) -> int:
    definition = None
    if args.resolution == "custom":
        if not args.file:
            print("pggit: a custom resolution needs --file PATH ('-' for standard input)", file=sys.stderr)
            return 2
        definition = _read_file(args.file)
    elif args.file:
        print("pggit: --file is only for a custom resolution", file=sys.stderr)
        return 2
    row = client.resolve_conflict(args.merge_id, args.identity, args.resolution, definition, force=args.force)
    if args.json:
        _print_json(row)
        return 0
    return _merge_result(row)


def cmd_merge_complete(client: Client, args) -> int:
    row = client.complete_merge(args.merge_id, force=args.force)
    if args.json:
        _print_json(row)
        return 0
    return _merge_result(row)


def cmd_merge_abort(client: Client, args) -> int:
    client.abort_merge(args.merge_id)
    print(f"merge {args.merge_id} aborted")
    return 0


NO_ITEMS = {
    "fast_forward": "a fast-forward moves the target to the source's head: no object was merged one by one",
    "up_to_date": "the target held every commit of the source already: nothing was merged",
}


def cmd_merge_items(client: Client, args) -> int:
    """The merge's items after a line naming it (so that a merge without items says why)."""
    info = client.merge_info(args.merge_id)
    if info is None:
        print(f"pggit: there is no merge {args.merge_id}", file=sys.stderr)
        return 1
    items = client.merge_items(args.merge_id)
    if getattr(args, "json", False):
        _print_json(items)
        return 0
    still_open = sum(1 for r in items if r.get("resolution") is None)
    print(f"merge {args.merge_id}: {info['source']} into {info['target']}, {info['status']}, {len(items)} item(s)"
          + (f", {still_open} open" if still_open else ""))
    if not items:
        print(f"  {NO_ITEMS.get(info['status'], 'no object differs between the source and the target')}")
    width = max((len(r.get("conflict_type") or "") for r in items), default=0)
    for r in items:
        state = r.get("resolution") or "open"
        print(f"  {r.get('conflict_type') or '':<{width}}  {state:<8} {r['identity']}")
        if r.get("error"):
            print(f"      error: {r['error']}")
    return 0


def cmd_checkout(client: Client, args) -> int:
    head = client.switch_branch(args.name, force=args.force)
    print(f"switched to branch {args.name} at {_short(head)}")
    return 0


def cmd_revert(client: Client, args) -> int:
    commit = client.revert(args.commit, branch=args.branch, force=args.force)
    print(f"reverted {args.commit}: commit {_short(commit)} on {args.branch or client.current_branch()}")
    return 0


def cmd_reset(client: Client, args) -> int:
    head = client.reset_branch(args.branch, args.ref, force=args.force)
    print(f"branch {args.branch} reset to {_short(head)}")
    return 0


def cmd_apply(client: Client, args) -> int:
    text = args.sql if args.sql is not None else _read_file(args.file)
    commit = client.apply(args.branch, text, message=args.message)
    if commit is None:
        print(f"nothing changed on {args.branch}")
    else:
        print(f"commit {_short(commit)} on {args.branch}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pggit", description="Git-like version control for a PostgreSQL schema.")
    p.add_argument("--dsn", default=os.environ.get("PGGIT_DSN"), help="managed database (default: $PGGIT_DSN)")
    p.add_argument("--privileged", action="store_true",
                   help="run the SQL of 'apply' and custom resolutions in the shadow database as the DSN's own "
                        "role (a DBA at a terminal); without it they run as the shadow database's unprivileged role")
    p.add_argument("--author", default=os.environ.get("PGGIT_AUTHOR"),
                   help="who the commands act for, recorded as the author of the commits they make with the "
                        "database role as committer (default: $PGGIT_AUTHOR; unset: the role)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="install or upgrade the engine")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("status", help="current branch and HEAD")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("log", help="history of a ref")
    s.add_argument("ref", nargs="?")
    s.add_argument("-n", "--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_log)
    s = sub.add_parser("show", help="changes of one commit")
    s.add_argument("commit", nargs="?")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)
    s = sub.add_parser("branch", help="list, create (NAME [START]) or delete (-d NAME) branches")
    s.add_argument("name", nargs="?")
    s.add_argument("start", nargs="?")
    s.add_argument("-d", "--delete", metavar="NAME")
    s.add_argument("-f", "--force", action="store_true")
    s.add_argument("--data", action="store_true",
                   help="the new branch carries the rows of every tracked table as they are now (it starts at HEAD)")
    s.set_defaults(func=cmd_branch)
    s = sub.add_parser("connect", help="print a connection string that works on a data branch's rows")
    s.add_argument("branch")
    s.add_argument("--search-path", help="the application's search_path (default: PostgreSQL's, \"$user\", public)")
    s.set_defaults(func=cmd_connect)
    s = sub.add_parser("merge-data", help="merge a data branch's rows into the checked-out tables (exit 1 on conflicts)")
    s.add_argument("branch")
    s.add_argument("--resolutions", metavar="FILE",
                   help='JSON list of {"table", "key", "column"?, "take": source|target|base|value, "value"?}; - for stdin')
    s.add_argument("--dry-run", action="store_true", help="show what it would do, change nothing")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_merge_data)
    s = sub.add_parser("data-diff", help="rows that differ between the checked-out tables and a data branch")
    s.add_argument("from_ref", metavar="FROM")
    s.add_argument("to_ref", metavar="TO")
    s.add_argument("--table")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_data_diff)
    s = sub.add_parser("tree", help="objects in the state of a ref")
    s.add_argument("ref", nargs="?")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_tree)
    s = sub.add_parser("diff", help="object changes between two refs (--sql: the migration)")
    s.add_argument("from_ref")
    s.add_argument("to_ref", nargs="?")
    s.add_argument("--sql", action="store_true")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_diff)
    s = sub.add_parser("migration", help="DDL turning FROM into TO ('-' for FROM = empty database)")
    s.add_argument("from_ref")
    s.add_argument("to_ref", nargs="?")
    s.set_defaults(func=cmd_migration)
    s = sub.add_parser("blame", help="commits that changed one object")
    s.add_argument("identity")
    s.add_argument("ref", nargs="?")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_blame)

    s = sub.add_parser("drift", help="objects whose live definition differs from HEAD (exit 1 if any)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_drift)

    s = sub.add_parser("merge-base", help="best common ancestor of two refs")
    s.add_argument("a")
    s.add_argument("b")
    s.set_defaults(func=cmd_merge_base)
    s = sub.add_parser("conflicts", help="three-way classes of merging SOURCE into TARGET (default HEAD)")
    s.add_argument("source")
    s.add_argument("target", nargs="?")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_conflicts)
    s = sub.add_parser("merge", help="merge SOURCE into HEAD's branch (or --into TARGET)")
    s.add_argument("source")
    s.add_argument("--into", metavar="TARGET")
    s.add_argument("--strategy", default="auto",
                   choices=["auto", "source_wins", "target_wins", "union", "manual_review"])
    s.add_argument("-m", "--message")
    s.add_argument("--no-verify", action="store_true", help="do not replay the result in the shadow database first")
    s.add_argument("--force", action="store_true", help="into HEAD: accept steps that lose data")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_merge)
    s = sub.add_parser("merge-complete", help="complete a merge whose items are all resolved")
    s.add_argument("merge_id", type=int)
    s.add_argument("--force", action="store_true", help="into HEAD: accept steps that lose data")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_merge_complete)
    s = sub.add_parser("resolve", help="resolve one item of an open merge (custom: --file PATH)")
    s.add_argument("merge_id", type=int)
    s.add_argument("identity")
    s.add_argument("resolution", choices=["source", "target", "base", "custom"])
    s.add_argument("--file", metavar="PATH", help="the custom definition ('-' for standard input)")
    s.add_argument("--force", action="store_true", help="into HEAD: accept steps that lose data")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_resolve)
    s = sub.add_parser("merge-abort", help="abort an open merge")
    s.add_argument("merge_id", type=int)
    s.set_defaults(func=cmd_merge_abort)
    s = sub.add_parser("merge-items", help="items of a merge with their class, resolution and error")
    s.add_argument("merge_id", type=int)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_merge_items)
    s = sub.add_parser("checkout", help="migrate the live schema to a branch and make it HEAD")
    s.add_argument("name")
    s.add_argument("--force", action="store_true", help="run steps that lose data")
    s.set_defaults(func=cmd_checkout)
    s = sub.add_parser("revert", help="a new commit undoing COMMIT (on HEAD's branch or --branch)")
    s.add_argument("commit")
    s.add_argument("--branch")
    s.add_argument("--force", action="store_true", help="run steps that lose data")
    s.set_defaults(func=cmd_revert)
    s = sub.add_parser("reset", help="move BRANCH's head to REF (on HEAD: migrates the live schema)")
    s.add_argument("branch")
    s.add_argument("ref")
    s.add_argument("--force", action="store_true", help="run steps that lose data")
    s.set_defaults(func=cmd_reset)
    s = sub.add_parser("apply", help="run DDL on a branch that is not checked out (in the shadow database)")
    s.add_argument("branch")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--sql", metavar="TEXT")
    src.add_argument("--file", metavar="PATH", help="'-' for standard input")
    s.add_argument("-m", "--message")
    s.set_defaults(func=cmd_apply)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no database: pass --dsn or set PGGIT_DSN")
    if getattr(args, "from_ref", None) == "-":
        args.from_ref = None
    try:
        with Client(args.dsn, privileged_shadow=args.privileged, person=args.author) as client:
            code = args.func(client, args)
            # (the output now: a shadow's spare may still be copied in the background, and the
            # process waits for it before it exits)
            sys.stdout.flush()
            return code
    except PggitError as exc:
        print(f"pggit: {exc}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 1
    except OSError as exc:  # --file
        print(f"pggit: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(f"pggit: {exc}".rstrip(), file=sys.stderr)
        return 1
