"""Present a compression report: JSON file, terminal table and PNG chart, with the seed's claim beside the numbers."""

from __future__ import annotations

import json
from pathlib import Path

MB = 1e6
# (header, row key, format); sizes in MB, quality in %, speeds in tokens/s.
COLUMNS = (
    ("type", "type", "{}"),
    ("file MB", "file_bytes", "{:.0f}"),
    ("-size %", "size_reduction_pct", "{:.1f}"),
    ("weights MB", "model_bytes", "{:.0f}"),
    ("-mem %", "memory_reduction_pct", "{:.1f}"),
    ("RSS MB", "rss_bytes", "{:.0f}"),
    ("top-1 %", "top1_agreement", "{:.1f}"),
    ("KL mean", "kl_mean", "{:.4f}"),
    ("KL p99", "kl_p99", "{:.3f}"),
    ("PPL", "ppl_candidate", "{:.2f}"),
    ("PPL ratio", "ppl_ratio", "{:.3f}"),
    ("prefill t/s", "prefill_tps", "{:.0f}"),
    ("decode t/s", "decode_tps", "{:.1f}"),
)


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    if key.endswith("_bytes"):
        value = value / MB
    elif key == "top1_agreement":
        value = 100 * value
    return fmt.format(value)


def table(report: dict) -> str:
    """A fixed-width table of every row, then the seed's claim beside the best-matching measured row."""
    cells = [[h for h, _, _ in COLUMNS]] + [[_cell(r, k, f) for _, k, f in COLUMNS] for r in report["rows"]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", *summary_lines(report)])


def summary_lines(report: dict) -> list[str]:
    """Where the measurement came from, and the seed's claim next to what was measured."""
    claim = report["seed_claim"]
    lines = [f"held-out text: {report['held_out']['source']}, {report['held_out']['tokens']} tokens",
             f"seed's claim:  {claim['text']}"]
    for r in report["rows"][1:]:
        lines.append(
            f"measured {r['type']:>7}: {100 * r['top1_agreement']:.1f}% top-1 agreement "
            f"(perplexity {100 / r['ppl_ratio']:.1f}% of the reference's) at {r['memory_reduction_pct']:.0f}% less weight memory"
        )
    return lines + [f"note: {n}" for n in report.get("notes", [])]


def write_json(report: dict, path: Path) -> Path:
    """Write the report as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_chart(report: dict, path: Path) -> Path:
    """Quality (top-1 agreement %) against weight memory (MB) for every row, with the seed's claim as a star."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed, and no Qt import from inference/
    import matplotlib.pyplot as plt

    rows = report["rows"]
    xs = [r["model_bytes"] / MB for r in rows]
    ys = [100 * r["top1_agreement"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    ax.plot(xs, ys, "o", color="#1f77b4")
    for i, (x, y, r) in enumerate(zip(xs, ys, rows)):
        # Small models put several types at almost the same size: stagger the labels so they stay readable.
        ax.annotate(r["type"], (x, y), textcoords="offset points", xytext=(6, 6 - 9 * (i % 3)), fontsize=8)
    claim = report["seed_claim"]
    cx = xs[0] * (1 - claim["memory_reduction_pct"] / 100)
    ax.plot([cx], [claim["quality_pct"]], "*", color="#d62728", markersize=14, label=f"seed's claim: {claim['text']}")
    ax.set_xlabel("weight memory (MB, llama.cpp model buffers)")
    ax.set_ylabel("top-1 agreement with the reference (%)")
    ax.set_title(f"{Path(report['model']).name}: quality against size ({report['held_out']['tokens']} held-out tokens)", fontsize=10)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
