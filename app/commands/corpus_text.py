"""How `scriptorium corpus` prints: JSON under --json; for a person, aligned tables and concordances in display columns, highlights on a tty."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TextIO

BOLD, REVERSE, RESET = "\x1b[1m", "\x1b[7m", "\x1b[0m"


def plain(value: Any) -> Any:
    """Dataclasses, named tuples, tuples and paths as JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple (KwicLine) is an object, not a list
        return plain(value._asdict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str | Callable[[], str]) -> int:
    """Print the JSON object under --json, else the text a person reads (built only when needed)."""
    print(json.dumps(plain(payload), ensure_ascii=False) if args.json else (text() if callable(text) else text))
    return 0


def text_filter(args: argparse.Namespace) -> Any:
    """The metadata filters of a command's options (--author, --collection, --title, --from, --to)."""
    from app.corpus.store import TextFilter

    return TextFilter(**{k: getattr(args, k) or "" for k in ("author", "collection", "title", "date_from", "date_to")})


def is_tty(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a captured or replaced stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, columns: int, align: str = "left") -> str:
    """`text` cut or padded to exactly `columns` display columns; right-aligned text keeps its end."""
    text = " ".join(text.split())  # line breaks and tabs would break the row
    chars = list(text if align == "left" else reversed(text))
    kept, used = [], 0
    for c in chars:
        w = width(c)
        if used + w > columns:
            break
        kept.append(c)
        used += w
    body = "".join(kept if align == "left" else reversed(kept))
    pad = " " * (columns - used)
    return body + pad if align == "left" else pad + body


def mark(text: str, spans: Iterable[tuple[int, int]], on: bool, style: str = BOLD) -> str:
    """`text` with [start, end) spans set in `style` when `on` (a terminal), unchanged otherwise."""
    if not on:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], style, text[start:end], RESET]
        last = end
    return "".join(out) + text[last:]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as an aligned table: `columns` are (key, heading); numbers right-aligned with thousands separators."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    numeric = [all(_is_number(row.get(key)) for row in rows) for key, _ in columns]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, (_, h) in enumerate(columns)]
    lines = ["  ".join(fit(h, w, "right" if n else "left") for (_, h), w, n in zip(columns, widths, numeric))]
    lines += ["  ".join(fit(c, w, "right" if n else "left") for c, w, n in zip(r, widths, numeric)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or value is None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


class ProgressLine:
    """One line on stderr, rewritten in place while a terminal watches; silent otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.on = is_tty(self.stream)
        self.shown = 0

    def show(self, text: str) -> None:
        if self.on:
            text = fit(text, 78)
            print(f"\r{text}", end="", file=self.stream, flush=True)
            self.shown = len(text)

    def clear(self) -> None:
        if self.on and self.shown:
            print("\r" + " " * self.shown + "\r", end="", file=self.stream, flush=True)
            self.shown = 0
