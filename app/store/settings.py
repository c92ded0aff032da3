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
