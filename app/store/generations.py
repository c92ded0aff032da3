"""The log of every generation: what was asked, what came back, with which model and settings, how fast."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from app.errors import UserError
from app.store.db import now_iso

STATUSES = ("ok", "cancelled", "error")


@dataclass(frozen=True)
class Generation:
    """One logged generation; `params` and `stats` are plain dicts."""

    id: int
    document_id: int | None
    task: str
    prompt: str
    output: str
    model: str
    model_sha256: str
    params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def log_generation(
    db: Database,
    *,
    task: str,
    prompt: str,
    output: str,
    model: str = "",
    model_sha256: str = "",
    params: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    status: str = "ok",
    document_id: int | None = None,
) -> int:
    """Record a finished, cancelled or failed generation; return its id."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO generations (document_id, task, prompt, output, model, model_sha256, params, stats, "
            "created, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                document_id, task, prompt, output, model, model_sha256,
                json.dumps(params or {}, ensure_ascii=False), json.dumps(stats or {}, ensure_ascii=False),
                now_iso(), status,
            ],
        )
    return int(cursor.lastrowid)


def list_generations(db: Database, document_id: int | None = None, limit: int = 100) -> list[Generation]:
    """Logged generations, newest first; only one document's when `document_id` is given."""
    if document_id is None:
        rows = db.query("SELECT * FROM generations ORDER BY id DESC LIMIT ?", [limit])
    else:
        rows = db.query("SELECT * FROM generations WHERE document_id = ? ORDER BY id DESC LIMIT ?", [document_id, limit])
    return [_from_row(row) for row in rows]


def get_generation(db: Database, generation_id: int) -> Generation:
    """One logged generation; UserError if there is none."""
    rows = list(db.query("SELECT * FROM generations WHERE id = ?", [generation_id]))
    if not rows:
        raise UserError(f"No generation with id {generation_id} in the log.")
    return _from_row(rows[0])


def _from_row(row: dict[str, Any]) -> Generation:
    return Generation(**{**row, "params": json.loads(row["params"]), "stats": json.loads(row["stats"])})
