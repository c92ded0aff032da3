"""Quantize a GGUF with llama.cpp's own quantizer, atomically: `<out>.partial` is renamed only on success."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from inference.backends.llama_adapter import quantize_file, set_native_log_level
from inference.compress.errors import CompressError, NotEnoughDisk
from inference.compress.types import quant_type, tensor_type

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
# How often the watcher samples the growing output file to report progress.
_POLL_S = 0.25
# Room left beyond the estimate: the mixes' higher-precision tensors and metadata vary by model.
_DISK_MARGIN = 1.15


@dataclass(frozen=True)
class QuantizeOptions:
    """The knobs that matter for quality: the target mix, the embedding/output types and per-tensor overrides."""

    qtype: str
    embedding_type: str | None = None
    output_type: str | None = None
    tensor_types: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (regex on tensor name, type)
    threads: int = 0  # 0: llama.cpp uses every hardware thread


def estimate_size(parameters: int, qtype: str) -> int:
    """Approximate output bytes from the parameter count and the type's bits per weight."""
    return int(parameters * quant_type(qtype).bits_per_weight / 8) + 16 * 1024 * 1024


def check_disk(folder: Path, needed: int) -> None:
    """Raise NotEnoughDisk when `folder`'s file system cannot hold `needed` bytes with a margin."""
    free = shutil.disk_usage(folder).free
    if free < needed * _DISK_MARGIN:
        raise NotEnoughDisk(
            f"{folder} has {free / 1e9:.1f} GB free but compressing needs about {needed * _DISK_MARGIN / 1e9:.1f} GB; "
            "free some space or choose another --out folder."
        )


def quantize(src: Path, out: Path, options: QuantizeOptions, expected_bytes: int, progress: ProgressFn | None = None) -> Path:
    """Quantize src into out via `<out>.partial`; on any failure or interrupt the partial file is removed."""
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _run_in_thread(src, partial, options, expected_bytes, progress)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out


def _run_in_thread(src: Path, partial: Path, options: QuantizeOptions, expected: int, progress: ProgressFn | None) -> None:
    """Run the blocking native call in a daemon thread so the main thread can report progress and take Ctrl+C."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["rc"] = _llama_quantize(src, partial, options)
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc

    # Daemon: on KeyboardInterrupt the main thread deletes the partial and exits without waiting for native code.
    worker = threading.Thread(target=work, name="llama-quantize", daemon=True)
    with _native_stderr() as native_log:
        worker.start()
        while worker.is_alive():
            worker.join(_POLL_S)
            if progress:
                size = partial.stat().st_size if partial.exists() else 0
                progress(f"quantize {options.qtype}", min(0.99, size / max(expected, 1)))
    if "error" in outcome:
        raise CompressError(f"llama.cpp could not quantize {src.name}: {outcome['error']}.") from outcome["error"]  # type: ignore[misc]
    if outcome.get("rc") != 0:
        raise CompressError(
            f"llama.cpp could not quantize {src.name} to {options.qtype} ({_last_error(native_log)}); "
            "run with --verbose to see its log, or choose another type (IQ types below 4 bits need an importance matrix)."
        )
    if progress:
        progress(f"quantize {options.qtype}", 1.0)


@contextlib.contextmanager
def _native_stderr():
    """Send native stderr (llama.cpp prints a line per fallback tensor there) to a temp file, logged at debug.

    Yields a list that holds the captured lines once the block ends. With --verbose the output is left alone.
    """
    lines: list[str] = []
    if log.isEnabledFor(logging.DEBUG):
        yield lines
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())
            for line in lines:
                log.debug("llama.cpp: %s", line)


def _last_error(lines: list[str]) -> str:
    """The most telling native log line for an error message."""
    errors = [ln.strip() for ln in lines if "error" in ln.lower() or "requires" in ln.lower()]
    return errors[-1] if errors else "no reason given"


def _llama_quantize(src: Path, dst: Path, options: QuantizeOptions) -> int:
    """Call llama.cpp's quantizer with the options' types resolved; returns its status code."""
    set_native_log_level(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR)
    return quantize_file(
        src, dst, quant_type(options.qtype).ftype, options.threads,
        token_embedding_type=tensor_type(options.embedding_type) if options.embedding_type else None,
        output_tensor_type=tensor_type(options.output_type) if options.output_type else None,
        tensor_types=[(pattern, tensor_type(name)) for pattern, name in options.tensor_types],
    )
