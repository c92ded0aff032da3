"""What nvidia-smi says of this machine's NVIDIA GPUs: names and memory; nothing when it is absent or fails."""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger(__name__)

TIMEOUT_S = 10  # nvidia-smi answers in well under a second; a hung driver must not hang a load or a command


def _query(field: str) -> list[str]:
    """One value per GPU of an `nvidia-smi --query-gpu` field; empty when nvidia-smi is missing or fails."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi gave no %s: %s", field, exc)
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def gpu_names() -> list[str]:
    """Each GPU's name, in nvidia-smi's order."""
    return _query("name")


def gpu_memory_bytes() -> int | None:
    """Total memory of the first GPU, or None when nvidia-smi gives no figure."""
    values = _query("memory.total")
    try:
        return int(values[0]) * 1024 * 1024  # MiB
    except (ValueError, IndexError):
        log.info("nvidia-smi gave no memory figure: %s", values)
        return None
