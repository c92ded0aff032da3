"""Errors the application reports to a person: each carries a sentence that says what to do."""

from __future__ import annotations


class ScriptoriumError(Exception):
    """Base of every error the application shows to the user instead of a traceback."""


class UserError(ScriptoriumError):
    """Bad input from the user: a missing file, an unknown id, a malformed option."""


class StoreError(ScriptoriumError):
    """The database cannot be opened, migrated or written."""
