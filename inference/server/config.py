"""How `scriptorium serve` runs: one dataclass, from which the command line derives its options."""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.backends.base import LoadOptions

LOOPBACK = "127.0.0.1"


def _option(default: object, help: str, kind: type | None = None) -> object:
    """A field the command line offers as --NAME, of type `kind` (default: its default's type)."""
    return field(default=default, metadata={"help": help, "type": kind or type(default)})


@dataclass(frozen=True)
class ServeConfig:
    """The endpoint's settings. It listens on 127.0.0.1 only: anything else is refused, not quietly rebound."""

    port: int = _option(8642, "TCP port on 127.0.0.1 (0: any free port, printed at start)")  # type: ignore[assignment]
    host: str = _option(LOOPBACK, "must be 127.0.0.1: the endpoint never listens beyond this machine")  # type: ignore[assignment]
    model: str | None = _option(None, "a registered model name or a GGUF path (default: the default model)", str)  # type: ignore[assignment]
    n_ctx: int = _option(LoadOptions.n_ctx, "context window of the served model, in tokens")  # type: ignore[assignment]
    # Fewer threads than cores leaves the desktop (and its own worker) room while HTTP clients keep this one busy.
    n_threads: int | None = _option(None, "llama.cpp threads for decoding (default: one per physical core)", int)  # type: ignore[assignment]
    speculative: str = _option("auto", "speculative decoding: off, auto, lookup or draft:MODEL")  # type: ignore[assignment]
    # 4 MiB holds a full 128k-token context of text many times over; beyond it a body is an accident or an attack.
    max_body_bytes: int = _option(4 * 1024 * 1024, "largest request body accepted, in bytes (larger: 413)")  # type: ignore[assignment]
    backend: str = _option("llama_cpp", "the worker's backend (fake: scripted replies, for tests)")  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.host != LOOPBACK:
            raise ValueError(f"serve listens on {LOOPBACK} only, not {self.host!r}: the endpoint runs a model on your machine and must not be reachable from others.")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, not {self.port}.")
        if self.max_body_bytes < 1024:
            raise ValueError(f"--max-body-bytes must be at least 1024, not {self.max_body_bytes}.")
