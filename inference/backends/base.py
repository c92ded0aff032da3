"""The backend interface: load a model, tokenize, and yield token ids (or, for a server, text); plus the registry of backends."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from inference.protocol import ErrorCode, WorkerError

if TYPE_CHECKING:
    from inference.models import ModelInfo
    from inference.tasks import Prompt


@dataclass(frozen=True)
class SamplingParams:
    """How to pick each next token. temperature <= 0 means plain greedy with no penalties."""

    max_tokens: int = 256
    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    # Measured: greedy decoding of the 270M base model repeats its prompt sentence; a mild
    # penalty over a short window stops the loops without bending word choice much.
    repeat_penalty: float = 1.15
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


@dataclass
class GenerationStats:
    """Filled in by a backend while it generates; the engine adds timings."""

    prompt_tokens: int = 0
    tokens_reused: int = 0
    generated_tokens: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    speculative: str = "off"
    finish: str | None = None  # "end" or "length" when the backend knows why the answer ended (a server says so)
    extra: dict = field(default_factory=dict)


@dataclass
class ScoreStats:
    """Filled in by a backend while it scores: the tokens it kept evaluated from the text before, and those it read."""

    tokens_reused: int = 0
    tokens_evaluated: int = 0


@dataclass(frozen=True)
class RequestContext:
    """What a backend may use beyond sampling: whose text this is and how to speculate."""

    doc_key: str | None = None  # the document a request belongs to (session caches)
    speculative: str = "auto"  # off | auto | lookup | draft:MODEL
    task: str = "continue"
    cancel: threading.Event | None = None  # set by the worker on `cancel`; a long prefill stops at once too


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model; the defaults suit the embedded model on a laptop."""

    n_ctx: int = 8192
    n_gpu_layers: int = -1  # every layer when the build supports a GPU; ignored otherwise
    n_threads: int | None = None
    n_batch: int = 128  # also the alignment of reusable cache prefixes (see inference.cache.usable_prefix)
    cache_budget_mb: int | None = None  # cache.db size budget; None: SCRIPTORIUM_CACHE_BUDGET_MB or 2048
    # The torch engine's weights: f32 | bf16 | int8 | int4 (None: the model entry's, else bf16 on CUDA, f32 on a CPU);
    # llama.cpp runs the GGUF's own types and ignores both.
    precision: str | None = None
    group_size: int = 128  # int4's group of input columns sharing a scale (32, 64, 128 or 256)
    head_precision: str = "int8"  # int8/int4: the output head's own precision, int8, int4 or float


class Backend(ABC):
    """One inference engine. Implementations deal only in token ids and bytes."""

    name: str = "abstract"

    @abstractmethod
    def load(self, path: Path, options: LoadOptions) -> dict:
        """Load a model and return facts for `hello`: device, n_ctx, layers offloaded …"""

    def load_model(self, model: "ModelInfo", options: LoadOptions) -> dict:
        """Load a registry entry (what the engine calls); a file backend loads its path."""
        return self.load(Path(model.path), options)

    @abstractmethod
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Text to token ids; special tokens in the text (chat markers) are parsed."""

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token contributes to the output (may be part of a character)."""

    @abstractmethod
    def is_end(self, token_id: int) -> bool:
        """Whether the token ends generation (end of sequence or turn)."""

    @property
    @abstractmethod
    def n_ctx(self) -> int:
        """The context window of the loaded model, in tokens."""

    @abstractmethod
    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        """Yield generated token ids until max_tokens or an end token; fill `stats` as it goes."""

    def check_scoring(self) -> None:
        """Raise `unsupported` unless `score` works here; called before any text is tokenized for it."""
        raise WorkerError(f"The {self.name} backend cannot score texts: it gives no probabilities of a prompt's tokens.",
                          code=ErrorCode.UNSUPPORTED)

    def score(self, tokens: list[int], stats: ScoreStats, cancel: threading.Event | None = None) -> list[float]:
        """The natural-log probability of each token after the first given those before it (the `score` op)."""
        self.check_scoring()
        return []

    def unload(self) -> None:
        """Free the model's memory."""

    def idle_step(self) -> bool:
        """One short step of background work, run while no request waits; whether more remains (none by default).

        A request that arrives waits for the step in progress, so a step should take a fraction of a second;
        the work is offered by requests (the worker asks again after each one) and must survive being left
        unfinished: a shutdown or an unload may come between any two steps.
        """
        return False

    def cache_stats(self) -> dict:
        """What the backend's caches hold; empty when it has none."""
        return {}

    def attach_cache(self, db_path: Path | None, model_sha256: str) -> None:
        """Keep session caches of the loaded model (identified by its checksum) in db_path; a no-op without caches."""

    def cache_clear(self) -> dict:
        """Forget every saved session state; returns {"deleted": rows}."""
        return {"deleted": 0}

    def set_cache_budget(self, budget_mb: int) -> dict:
        """Bound the saved session states to `budget_mb` MiB from now on (evicting at once); returns cache_stats()."""
        return self.cache_stats()


class TextBackend(Backend):
    """A backend that takes text or chat messages and yields text: a server that exposes no token ids.

    The engine fits prompts with `count_tokens` and streams `generate_text`; the token-id
    methods of Backend do not exist here and say so.
    """

    def load(self, path: Path, options: LoadOptions) -> dict:
        raise WorkerError(f"{type(self).__name__} serves registered models, not files.", code=ErrorCode.UNSUPPORTED)

    @abstractmethod
    def load_model(self, model: "ModelInfo", options: LoadOptions) -> dict:
        """Connect to where the model is served and return facts for `hello`."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens the text takes in the model's context (exact, or a conservative estimate)."""

    @abstractmethod
    def generate_text(self, prompt: "Prompt", params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[str]:
        """Yield pieces of the answer to a completion text or chat messages; fill `stats` as it goes."""

    def token_bytes(self, token_id: int) -> bytes:
        raise self._no_ids()

    def is_end(self, token_id: int) -> bool:
        raise self._no_ids()

    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        raise self._no_ids()

    def _no_ids(self) -> WorkerError:
        return WorkerError(f"{type(self).__name__} works in text, not token ids.", code=ErrorCode.UNSUPPORTED)


BackendFactory = Callable[[], Backend]
_BACKENDS: dict[str, BackendFactory] = {}


def register(name: str, factory: BackendFactory) -> None:
    """Make a backend available by name."""
    _BACKENDS[name] = factory


def create(name: str) -> Backend:
    """Instantiate a registered backend; importing inference.backends registers the built-in ones."""
    import inference.backends  # noqa: F401  (registers built-ins)

    try:
        return _BACKENDS[name]()
    except KeyError:
        raise ValueError(f"Unknown backend {name!r}; known: {', '.join(sorted(_BACKENDS))}") from None


def available() -> list[str]:
    import inference.backends  # noqa: F401

    return sorted(_BACKENDS)
