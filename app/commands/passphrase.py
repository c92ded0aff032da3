"""Passphrases on the command line: from stdin (--passphrase-stdin), the environment, or asked on the terminal."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from app.errors import UserError
from app.store import library_key
from inference import sqlfile

ENV_PASSPHRASE = "SCRIPTORIUM_PASSPHRASE"  # the library's current passphrase, for scripts
ENV_NEW_PASSPHRASE = "SCRIPTORIUM_NEW_PASSPHRASE"  # the new one, for `library encrypt` and `change-passphrase`


def add_option(parser: argparse.ArgumentParser) -> None:
    """--passphrase-stdin, which every command takes (an encrypted library is unlocked before any of them runs)."""
    parser.add_argument("--passphrase-stdin", action="store_true",
                        help=f"read passphrases from stdin, one a line: the current one first, then a new one "
                             f"(else ${ENV_PASSPHRASE} / ${ENV_NEW_PASSPHRASE}, else asked on the terminal)")
    # The app passes the key it holds to the commands it starts (compress) as one line of hex on their stdin.
    parser.add_argument("--key-on-stdin", action="store_true", help=argparse.SUPPRESS)


def unlock(args: argparse.Namespace) -> None:
    """When the library is encrypted, ask for its passphrase and hold its key; WrongPassphrase touches nothing."""
    if getattr(args, "key_on_stdin", False):
        try:
            key = sqlfile.key_from_line(sys.stdin.readline())
        except ValueError as exc:
            raise UserError("--key-on-stdin: the first line of stdin is no library key.") from exc
        library_key.hold(args.home, key)
    elif library_key.is_locked(args.home):
        library_key.unlock(args.home, current(args))


def current(args: argparse.Namespace) -> str:
    """The library's current passphrase."""
    return _read(args, ENV_PASSPHRASE, "Passphrase of the library: ", confirm=False)


def new(args: argparse.Namespace) -> str:
    """A new passphrase, asked twice on a terminal so a typing slip cannot lock the writer out."""
    return _read(args, ENV_NEW_PASSPHRASE, "New passphrase: ", confirm=True)


def _read(args: argparse.Namespace, env: str, prompt: str, confirm: bool) -> str:
    if getattr(args, "passphrase_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise UserError("--passphrase-stdin: stdin ended before the passphrase.")
        return line.rstrip("\r\n")
    if env in os.environ:
        return os.environ[env]
    if not sys.stdin.isatty():
        raise UserError(f"A passphrase is needed: give it with --passphrase-stdin or ${env} (no terminal to ask on).")
    said = getpass.getpass(prompt)
    if confirm and getpass.getpass("The same again: ") != said:
        raise UserError("The two passphrases differ; nothing was changed.")
    return said
