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


def cmd_log(client: Client, args) -> int:
    return _output(args, client.log(args.ref, args.limit), lambda r: (
        f"{_short(r['commit_id'])}{' (merge)' if len(r['parent_ids']) > 1 else ''}  "
        f"{_when(r['committed_at'])}  {r['author']}  {_first_line(r['message'])}"))


def cmd_show(client: Client, args) -> int:
    return _output(args, client.show(args.commit), lambda r: f"{r['change']:<9} {r['identity']}")


def cmd_branch(client: Client, args) -> int:
    if args.delete:
        client.delete_branch(args.delete, force=args.force)
        print(f"deleted branch {args.delete}")
    elif args.name:
        head = client.create_branch(args.name, args.start)
        print(f"created branch {args.name} at {_short(head)}")
    else:
        for b in client.branches():
            print(f"{'*' if b['is_head'] else ' '} {b['name']}  {_short(b['head'])}")
    return 0


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
        f"{_short(r['commit_id'])}  {r['change']:<9} {_when(r['committed_at'])}  {r['author']}  {_first_line(r['message'])}"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pggit", description="Git-like version control for a PostgreSQL schema.")
    p.add_argument("--dsn", default=os.environ.get("PGGIT_DSN"), help="managed database (default: $PGGIT_DSN)")
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
    s.set_defaults(func=cmd_branch)
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
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no database: pass --dsn or set PGGIT_DSN")
    if getattr(args, "from_ref", None) == "-":
        args.from_ref = None
    try:
        with Client(args.dsn) as client:
            return args.func(client, args)
    except PggitError as exc:
        print(f"pggit: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(f"pggit: {exc}".rstrip(), file=sys.stderr)
        return 1
