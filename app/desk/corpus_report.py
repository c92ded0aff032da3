"""An import's progress and report in words, the same on the command line and in the Corpus view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESUME = "run the same import again to resume; texts already imported are not imported twice."


def size(n: int) -> str:
    """Bytes as a person reads them: 812 bytes, 12.3 KB, 4.5 MB."""
    return f"{n:,} bytes" if n < 1000 else f"{n / 1e3:,.1f} KB" if n < 1e6 else f"{n / 1e6:,.1f} MB"


def progress_fraction(p: Any) -> float | None:
    """How far an import is, by bytes (by files when sizes are unknown; None when nothing is known yet)."""
    if p.bytes_total:
        return p.bytes_done / p.bytes_total
    return p.files_done / p.files_total if p.files_total else None


def progress_text(p: Any) -> str:
    """`12 of 340 files · 3.4 MB of 120.0 MB · poem.txt`."""
    current = Path(str(p.current)).name if getattr(p, "current", "") else ""
    parts = [f"{p.files_done:,} of {p.files_total:,} files", f"{size(p.bytes_done)} of {size(p.bytes_total)}", current]
    return " · ".join(x for x in parts if x)


def import_summary(corpus: str, report: Any) -> str:
    """The report in sentences: counts, speed, encodings, what was skipped and why, and how to resume."""
    speed = f" ({report.bytes / 1e6 / report.seconds:,.1f} MB/s)" if report.seconds > 0 and report.bytes >= 1e6 else ""
    lines = [f"Imported {report.imported:,} texts into {corpus!r}: {size(report.bytes)} in {report.seconds:,.1f} s{speed}."]
    left_out = [f"{report.duplicates:,} duplicates of texts already there"] if report.duplicates else []
    left_out += [f"{report.unchanged:,} files unchanged since they were imported"] if report.unchanged else []
    if left_out:
        lines.append("Left out " + " and ".join(left_out) + ".")
    if report.encodings:
        counts = sorted(report.encodings.items(), key=lambda kv: -kv[1])
        lines.append("Read as " + ", ".join(f"{enc} ({n:,})" for enc, n in counts) + ".")
    lines += [f"Skipped {path}: {reason}" for path, reason in report.skipped]
    if report.cancelled:
        lines.append("Cancelled: " + RESUME)
    return "\n".join(lines)
