"""The `scriptorium` command: with no arguments the desktop app, otherwise a headless subcommand."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app.commands import passphrase
from app.errors import ScriptoriumError
from app.store.db import daily_check
from inference.paths import home_dir
from inference.protocol import WorkerError

# Each module exposes register(subparsers, parent); its handlers take (args) and return an exit code.
COMMAND_MODULES = (
    "app.commands.write",
    "app.commands.docs",
    "app.commands.models",
    "app.commands.compress",
    "app.commands.corpus",
    "app.commands.bench",
    "app.commands.serve",
    "app.commands.library",
)

log = logging.getLogger("scriptorium")


def common_parser() -> argparse.ArgumentParser:
    """Options every subcommand accepts."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--home", metavar="DIR", help="data directory (default: $SCRIPTORIUM_HOME or the platform's)")
    parent.add_argument("--verbose", "-v", action="store_true", help="log details to stderr")
    passphrase.add_option(parent)
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scriptorium", description="An offline, private writing desk with a local language model.")
    parent = common_parser()
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, parent)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        from app.__main__ import main as gui_main  # no command: the desktop app, with its own options (--home …)

        return gui_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        args.home = home_dir(args.home)
        passphrase.unlock(args)  # an encrypted library: its key is held before any command opens a file
        if getattr(args, "daily_check", True):
            daily_check(args.home)  # the day's first start checks the whole library and backs it up
        return int(args.handler(args) or 0)
    except (ScriptoriumError, WorkerError) as exc:
        print(f"scriptorium: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("scriptorium: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
