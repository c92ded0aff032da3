"""`scriptorium library`: the library file itself — its backups, restoring one, and its encryption."""

from __future__ import annotations

import argparse
import json

from app.commands import passphrase
from app.store import db_path, rekey
from app.store.backups import KEEP, list_backups
from app.store.recovery import restore


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `library` and its actions to the command line."""
    p = subparsers.add_parser("library", help="backups of the library, restoring one, its encryption", description=__doc__)
    sub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    kept = ", ".join(f"{n} {kind}" for kind, n in KEEP.items())
    q = sub.add_parser("backups", parents=[parent], help=f"list the backups, newest first (the last {kept} are kept)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=run_backups, daily_check=False)
    q = sub.add_parser("restore-backup", parents=[parent], help="make a backup the library again (the newest good one by default)")
    q.add_argument("name", nargs="?", metavar="NAME", help="a name from `library backups`")
    # daily_check off: the library may be the damaged file this command exists for, not to be set aside first.
    q.set_defaults(handler=run_restore, daily_check=False)
    q = sub.add_parser("encrypt", parents=[parent], help="encrypt the library, its session caches and backups under a passphrase")
    q.set_defaults(handler=run_encrypt)
    q = sub.add_parser("decrypt", parents=[parent], help="store the library in plain SQLite files again")
    q.set_defaults(handler=run_decrypt)
    q = sub.add_parser("change-passphrase", parents=[parent], help="re-key the encrypted library under a new passphrase")
    q.set_defaults(handler=run_change)


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


def run_encrypt(args: argparse.Namespace) -> int:
    """Encrypt the library under a new passphrase (asked twice on a terminal)."""
    rekey.require(args.home, encrypted=False)  # refused before a new passphrase is asked for
    done = rekey.encrypt(args.home, passphrase.new(args))
    print(done.sentence("Encrypted") + " Keep the passphrase safe: without it the library cannot be read.")
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    """Decrypt the library (unlocked by its passphrase before this runs)."""
    print(rekey.decrypt(args.home).sentence("Decrypted"))
    return 0


def run_change(args: argparse.Namespace) -> int:
    """Re-key the library under a new passphrase (the current one unlocked it before this runs)."""
    rekey.require(args.home, encrypted=True)
    print(rekey.change_passphrase(args.home, passphrase.new(args)).sentence("Re-keyed under the new passphrase"))
    return 0
