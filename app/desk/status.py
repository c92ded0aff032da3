"""The status bar's words for a finished generation, the loaded model and the spelling and grammar check."""

from __future__ import annotations

MIN_REUSE_SHOWN = 8


def speed_label(stats: dict) -> str:
    """'42.3 tokens/s' for the last generation, or '' when it did not say."""
    tps = stats.get("tokens_per_s")
    return f"{tps:,.1f} tokens/s" if tps else ""


def context_label(stats: dict, n_ctx: int | None) -> str:
    """'context 1,234 / 8,192' — prompt and answer against the model's window."""
    used = int(stats.get("prompt_tokens") or 0) + int(stats.get("generated_tokens") or 0)
    if not used:
        return ""
    return f"context {used:,} / {n_ctx:,}" if n_ctx else f"context {used:,}"


def reuse_label(stats: dict) -> str:
    """'reused 7,912 of 8,004 tokens' when the session cache saved re-reading the prompt."""
    reused, prompt = int(stats.get("tokens_reused") or 0), int(stats.get("prompt_tokens") or 0)
    # Every prompt shares its start-of-text token with the last one; only real reuse is news.
    return f"reused {reused:,} of {prompt:,} tokens" if reused >= MIN_REUSE_SHOWN and prompt else ""


def device_label(hello: dict) -> str:
    """'CPU', 'GPU (33 layers)' or 'Remote: host — text leaves this machine' from the worker's hello or load result;
    with the engine and why when the worker chose it ('CPU · llama.cpp: no CUDA GPU')."""
    if hello.get("remote"):
        return f"Remote: {hello.get('host') or 'a server'} — text leaves this machine"
    device = str(hello.get("device") or "cpu")
    layers = hello.get("n_gpu_layers")
    if device.lower() in ("cpu", ""):
        where = "CPU"
    else:
        where = f"GPU ({layers} layers)" if layers else device.upper()
    reason = hello.get("engine_reason")
    return f"{where} · {reason}" if reason else where


# The torch engine's layer-skipping skip set, as its generation stats give it (inference/backends/torch_skip_store.py).
_SKIP_SET = {
    "pending": "layer skipping: gathering your text to search when idle",
    "searching": "layer skipping: searching when idle",
    "failed": "layer skipping off: its search failed (see the log)",
}


def skip_label(stats: dict) -> str:
    """Where the torch engine's skip set stands, and how long this answer waited for its search; '' elsewhere."""
    label = _SKIP_SET.get(str(stats.get("skip_set") or ""), "")
    if stats.get("skip_set") == "stored":
        layers = int(stats.get("skip_layers") or 0)
        label = f"layer skipping on: {layers} layers skipped to draft" if layers else "layer skipping off: it does not pay on this device"
    waited = stats.get("skip_search_s")
    return f"{label} (this answer waited {float(waited):,.1f} s for the search)" if label and waited else label


def generation_summary(stats: dict, n_ctx: int | None) -> str:
    """One line for the status bar: speed, context used, cache reuse, layer skipping; unknown parts are left out."""
    parts = [speed_label(stats), context_label(stats, n_ctx), reuse_label(stats), skip_label(stats)]
    return " · ".join(p for p in parts if p)


def cache_summary(stats: dict) -> str:
    """'12 saved session(s), 48.2 MiB of 2,048 MiB' from the worker's cache_stats (cache.db's part)."""
    if not stats:
        return "Empty (this worker keeps no session cache)."
    text = f"{int(stats['entries']):,} saved session(s), {int(stats['bytes']) / 2**20:,.1f} MiB"
    budget = int(stats.get("budget") or 0)
    return text + (f" of {budget / 2**20:,.0f} MiB" if budget else "")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def checking_label(dialect: str | None, issues: int = 0, skipped: int = 0, too_long: int = 0, done: bool = True) -> str:
    """'English (British) · 3 issues · 2 paragraphs skipped: not English'; 'Checking off' when dialect is None."""
    if dialect is None:
        return "Checking off"
    parts = [f"English ({dialect})", _plural(issues, "issue") + ("" if done else " so far, checking…")]
    if skipped:
        parts.append(_plural(skipped, "paragraph") + " skipped: not English")
    if too_long:
        parts.append(_plural(too_long, "paragraph") + " too long to check")
    return " · ".join(parts)
