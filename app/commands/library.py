"""`scriptorium library`: the library file itself — its backups, and restoring one."""

from __future__ import annotations

import argparse
import json

from app.store import db_path
from app.store.backups import KEEP, list_backups
from app.store.recovery import restore


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `library` and its actions to the command line."""
    p = subparsers.add_parser("library", help="backups of the library, and restoring one", description=__doc__)
    sub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    kept = ", ".join(f"{n} {kind}" for kind, n in KEEP.items())
    q = sub.add_parser("backups", parents=[parent], help=f"list the backups, newest first (the last {kept} are kept)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=run_backups, daily_check=False)
    q = sub.add_parser("restore-backup", parents=[parent], help="make a backup the library again (the newest good one by default)")
    q.add_argument("name", nargs="?", metavar="NAME", help="a name from `library backups`")
    # daily_check off: the library may be the damaged file this command exists for, not to be set aside first.
    q.set_defaults(handler=run_restore, daily_check=False)


def run_backups(args: argparse.Namespace) -> int:
    """List the backups."""
    found = list_backups(args.home)
    if args.json:
        print(json.dumps({"backups": [b.to_dict() for b in found]}))
        return 0
    lines = [f"{b.name}  {b.taken:%Y-%m-%d %H:%M}  {b.kind:14}  {b.path.stat().st_size:>12,} bytes" for b in found]
    print("\n".join(lines) if lines else "No backups yet: Scriptorium makes one on the first start of each day.")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore a backup over the library; the library it replaces is kept."""
    chosen = restore(db_path(args.home), args.name)
    print(f"Restored {chosen.name} ({chosen.taken:%Y-%m-%d %H:%M}); the library it replaced is kept in the backups "
          "(or set aside if it was damaged).")
    return 0
