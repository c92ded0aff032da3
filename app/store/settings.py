"""Application settings: JSON values under string keys."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    """The value stored under `key`, or `default` when there is none."""
    rows = list(db.query("SELECT value FROM settings WHERE key = ?", [key]))
    return json.loads(rows[0]["value"]) if rows else default


def set_setting(db: Database, key: str, value: Any) -> None:
    """Store any JSON-serialisable value under `key`."""
    with db.atomic():
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, json.dumps(value, ensure_ascii=False)],
        )


def delete_setting(db: Database, key: str) -> None:
    """Forget a setting, so reads fall back to their default."""
    with db.atomic():
        db.execute("DELETE FROM settings WHERE key = ?", [key])


def get_document_setting(db: Database, document_id: int, key: str, default: Any = None) -> Any:
    """The value one document keeps under `key` (its checking dialect, ...), or `default`."""
    rows = list(db.query("SELECT value FROM document_settings WHERE document_id = ? AND key = ?", [document_id, key]))
    return json.loads(rows[0]["value"]) if rows else default


def set_document_setting(db: Database, document_id: int, key: str, value: Any) -> None:
    """Store a JSON value for one document; it goes when the document is deleted for good."""
    with db.atomic():
        db.execute(
            "INSERT INTO document_settings (document_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (document_id, key) DO UPDATE SET value = excluded.value",
            [document_id, key, json.dumps(value, ensure_ascii=False)],
        )
