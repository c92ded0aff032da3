"""An import's progress and report in words, the same on the command line and in the Corpus view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESUME = "run the same import again to resume; texts already imported are not imported twice."


def progress_fraction(p: Any) -> float | None:
    """How far an import is, by bytes (by files when sizes are unknown; None when nothing is known yet)."""
    if p.bytes_total:
        return p.bytes_done / p.bytes_total
    return p.files_done / p.files_total if p.files_total else None


def progress_text(p: Any) -> str:
    """`12 of 340 files · 3.4 of 120.0 MB · poem.txt`."""
    current = Path(str(p.current)).name if getattr(p, "current", "") else ""
    parts = [f"{p.files_done:,} of {p.files_total:,} files", f"{p.bytes_done / 1e6:,.1f} of {p.bytes_total / 1e6:,.1f} MB", current]
    return " · ".join(x for x in parts if x)


def import_summary(corpus: str, report: Any, cancelled: bool = False) -> str:
    """The report in sentences: counts, speed, encodings, what was skipped and why, and how to resume."""
    mb = report.bytes / 1e6
    speed = f" ({mb / report.seconds:,.1f} MB/s)" if report.seconds > 0 else ""
    lines = [f"Imported {report.imported:,} texts into {corpus!r}: {mb:,.1f} MB in {report.seconds:,.1f} s{speed}."]
    if report.duplicates or report.unchanged:
        lines.append(f"Left out {report.duplicates:,} duplicates of texts already there and {report.unchanged:,} unchanged files.")
    if report.encodings:
        counts = sorted(report.encodings.items(), key=lambda kv: -kv[1])
        lines.append("Read as " + ", ".join(f"{enc} ({n:,})" for enc, n in counts) + ".")
    lines += [f"Skipped {path}: {reason}" for path, reason in report.skipped]
    if cancelled:
        lines.append("Cancelled: " + RESUME)
    return "\n".join(lines)
