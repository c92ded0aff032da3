"""The markdown report of `bench gpu`: the rows, the targets beside them, self-speculation and llama.cpp."""

from __future__ import annotations

# The issue's targets: the fraction of the measured bandwidth limit each shape must reach in int4.
TARGETS = {("70b", "int4"): 0.70, ("8b", "int4"): 0.50}


def targets(rows: list[dict]) -> list[dict]:
    """Each target with the measured fraction beside it (None when the row did not run)."""
    out = []
    for (model, precision), goal in TARGETS.items():
        row = next((r for r in rows if r["model"] == model and r["precision"] == precision), None)
        got = row.get("bandwidth_fraction") if row else None
        out.append({"model": model, "precision": precision, "target": goal, "measured": got,
                    "met": None if got is None else got >= goal})
    return out


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _row(r: dict) -> str:
    head = f"| {r['label']} | {r['weights']} | {r['precision']} "
    if "skipped" in r or "error" in r:
        return head + f"| {r.get('skipped') or r.get('error')} |" + " |" * 7
    return head + (f"| {r['decode_tps']:.1f} | {r['ms_per_token']:.3f} | {r['ttft_ms']:.1f} | {r['bytes_per_token'] / 1e9:.3f} "
                   f"| {r['limit_ms_per_token']:.3f} | {100 * r['bandwidth_fraction']:.1f}% "
                   f"| {_num(r['energy_j_per_token'], '.4f')} | {_num(r['power_w'], '.0f')} |")


def table(result: dict) -> str:
    """The human card: device and ceilings, one row per model and precision, then the other sections."""
    lines = [
        f"## bench gpu — {result['device']}, torch {result['torch']}, {result['date']}",
        "",
        f"Copy bandwidth measured first: {result['bandwidth_bytes_per_s'] / 1e12:.3f} TB/s (device-to-device copy of "
        f"{result['copy_bytes'] / 2**30:.2f} GiB, read + write, median). Batch 1, greedy, prompt {result['prompt_tokens']} tokens. "
        f"Energy: {result['energy_method'] or 'not measured (no NVML device)'}. Rows with random weights: {result['speed_note']}.",
        "",
        "| model | weights | precision | decode tok/s | ms/token | TTFT ms | GB read/token | limit ms/token | of bandwidth limit | J/token | W |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(_row(r) for r in result["rows"]),
        "",
    ]
    for t in result["targets"]:
        got = "not run" if t["measured"] is None else f"{100 * t['measured']:.1f}% — {'met' if t['met'] else 'missed'}"
        lines.append(f"- target {t['model']} {t['precision']} ≥ {100 * t['target']:.0f}% of the bandwidth limit: {got}")
    lines += ["", _skip_text(result["skip"]), "", llama_text(result["llama_cpp"])]
    return "\n".join(lines)


def _skip_text(s: dict) -> str:
    if "skipped" in s or "error" in s:
        return f"Self-speculation (layer skipping): not measured — {s.get('skipped') or s.get('error')}"
    acc = "-" if s["acceptance"] is None else f"{s['acceptance']:.2f}"
    return (f"Self-speculation (layer skipping), {s['model']} in {s['precision']}: skip set {s['skip']} of {s['n_layer']} layers "
            f"(searched in {s['search_s']:.1f} s; teacher-forced agreement {s['search']['alpha']:.2f}, draft cost "
            f"{s['search']['draft_cost']:.2f} of a step); median over {s['prompts']} prompts of {s['tokens']} tokens: plain "
            f"{s['plain_tps']:.1f} tok/s, skip {s['skip_tps']:.1f} ({s['speedup']:.2f}x, acceptance {acc}), auto "
            f"{s['auto_tps']:.1f} ({s['auto_speedup']:.2f}x, {s['auto_drafted']} tokens drafted; {s['auto_choice']}{' — ' + s['auto_reason'] if s['auto_reason'] else ''}); "
            f"same tokens as plain: skip {s['same_tokens']['skip']}, auto {s['same_tokens']['auto']}.")


def llama_text(s: dict) -> str:
    if "skipped" in s or "error" in s:
        return f"llama.cpp CUDA: not measured — {s.get('skipped') or s.get('error')}"
    return (f"llama.cpp CUDA ({s['build']}), {s['model']}, every layer offloaded: decode {s['decode_tps']:.1f} tok/s, "
            f"TTFT {s['ttft_ms']:.1f} ms for {s['prompt_tokens']} tokens; shapes without a GGUF file: {s['other_shapes']}")
