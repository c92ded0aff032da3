"""Held-out prose for benchmarks: the bundled public-domain samples, cut into distinct passages."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"


def sample_text() -> str:
    """All bundled English sample text, header lines (starting with '#') removed."""
    files = sorted(SAMPLES_DIR.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"No sample texts in {SAMPLES_DIR}; the checkout is incomplete.")
    lines = [line for f in files for line in f.read_text("utf-8").splitlines() if not line.startswith("#")]
    return "\n".join(lines).strip()


def passages(count: int, chars: int) -> list[str]:
    """`count` different passages of about `chars` characters, each starting at a word boundary."""
    text = " ".join(sample_text().split())
    step = max(1, (len(text) - chars) // max(1, count))
    out = []
    for i in range(count):
        start = i * step
        start = text.find(" ", start) + 1 if start else 0
        out.append(text[start : start + chars].rsplit(" ", 1)[0])
    return out
