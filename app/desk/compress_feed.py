"""Reading `scriptorium compress --progress-json`: progress lines, then a result or an error line."""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from app.store import library_key
from inference import sqlfile
from inference.compress.types import SWEEP_TYPES
from inference.launch import module_command
from inference.paths import private_dir, write_private

QUANT_TYPES = SWEEP_TYPES  # what the model manager offers: the sweep's types, most bits first
MIN_HELD_OUT_CHARS = 4_000  # about a thousand tokens: enough positions for agreement and KL to mean something
MAX_HELD_OUT_CHARS = 20_000


@dataclass(frozen=True)
class FeedLine:
    """One line of the feed: kind is progress, result, error, or other (a line to log and skip)."""

    kind: str
    stage: str = ""
    fraction: float | None = None
    payload: dict = field(default_factory=dict)


def compress_command(model: str, qtype: str, home: str, text_file: Path | None = None) -> list[str]:
    """The command the model manager runs for Compress…"""
    cmd = [*module_command("app.cli"), "compress", model, "--type", qtype, "--progress-json", "--home", home]
    cmd += ["--key-on-stdin"] if sqlfile.held_key(Path(home)) is not None else []  # the key itself: key_line, on stdin
    return cmd + ["--text-file", str(text_file)] if text_file else cmd


def held_out_text(home: Path, min_chars: int = MIN_HELD_OUT_CHARS, max_chars: int = MAX_HELD_OUT_CHARS) -> Path | None:
    """The writer's own documents as held-out text for the fidelity report, or None when there is too little.

    Quality is measured on the text the model will serve; below a few pages the bundled sample says more.
    """
    from app.store import get_document, list_documents, open_db

    parts, size = [], 0
    with closing(open_db(home)) as db:  # a pool job's own connection: it belongs to this thread and goes with it
        for info in list_documents(db):
            if size >= max_chars:
                break
            body = get_document(db, info.id).body.strip()
            parts.append(body)
            size += len(body)
    text = "\n\n".join(p for p in parts if p)[:max_chars]
    if len(text) < min_chars:
        return None
    path = held_out_path(home)
    private_dir(path.parent)
    write_private(path, text)
    return path


def forget_held_out(home: Path) -> None:
    """After a compression of an encrypted library: its documents must not stay behind in a plain text file."""
    if library_key.is_encrypted(home):
        held_out_path(home).unlink(missing_ok=True)


def held_out_path(home: Path) -> Path:
    """Where the held-out text made of the writer's documents is kept between a compression's runs."""
    return Path(home) / "cache" / "compress-held-out.txt"


def chart_path(result: dict) -> Path | None:
    """The fidelity chart a finished compression wrote, when it exists."""
    chart = result.get("chart_path")
    return Path(chart) if chart and Path(chart).is_file() else None


def parse(line: str) -> FeedLine:
    """Parse one output line; anything that is not a JSON object with a kind is 'other'."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return FeedLine("other")
    if not isinstance(data, dict) or data.get("kind") not in ("progress", "result", "error"):
        return FeedLine("other")
    fraction = data.get("fraction")
    return FeedLine(data["kind"], str(data.get("stage", "")), float(fraction) if isinstance(fraction, (int, float)) else None, data)


def summary(result: dict) -> str:
    """A sentence about a finished compression: where it went, and its measured fidelity."""
    out = result.get("registered") or result.get("output") or "the compressed model"
    rows = result.get("rows") or []
    row = rows[-1] if rows else {}
    parts = []
    if isinstance(row.get("top1_agreement"), (int, float)):
        parts.append(f"top-1 agreement {row['top1_agreement']:.1%}")
    if isinstance(row.get("memory_reduction_pct"), (int, float)):
        parts.append(f"{row['memory_reduction_pct']:.0f}% less memory")
    return f"Compressed: {out}" + (f" ({', '.join(parts)})." if parts else ".")
