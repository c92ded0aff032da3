"""Reading `scriptorium compress --progress-json`: progress lines, then a result or an error line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

QUANT_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K")


@dataclass(frozen=True)
class FeedLine:
    """One line of the feed: kind is progress, result, error, or other (a line to log and skip)."""

    kind: str
    stage: str = ""
    fraction: float | None = None
    payload: dict = field(default_factory=dict)


def compress_command(model: str, qtype: str, home: str) -> list[str]:
    """The command the model manager runs for Compress…"""
    return [sys.executable, "-m", "app.cli", "compress", model, "--type", qtype, "--progress-json", "--home", home]


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
    """A sentence about a finished compression."""
    out = result.get("output") or result.get("registered") or "the compressed model"
    agree = result.get("top1_agreement") or (result.get("fidelity") or {}).get("top1_agreement")
    tail = f"; top-1 agreement {float(agree):.1%}" if isinstance(agree, (int, float)) else ""
    return f"Compressed: {out}{tail}."
