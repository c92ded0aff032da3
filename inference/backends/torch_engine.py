"""The torch backend: a GGUF's weights in a torch transformer (f32, bf16, int8 or int4), llama.cpp's tokenizer, CUDA graphs on a GPU."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import torch

from inference.backends.base import Backend, GenerationStats, LoadOptions, RequestContext, SamplingParams, ScoreStats
from inference.backends.llama_session import LlamaSession, SessionTokens
from inference.backends.torch_decode import CHUNK, Decoder
from inference.backends.torch_quant import GROUP_SIZES, HEAD_PRECISIONS, QuantConfig, int8_cuda_path
from inference.backends.torch_sampling import Sampler
from inference.backends.torch_skip import SkipSpeculation
from inference.backends.torch_skip_store import SkipSets
from inference.backends.torch_weights import load_gguf
from inference.engine_choice import PRECISIONS
from inference.gpu import gpu_names
from inference.models import ModelInfo, inspect_gguf
from inference.protocol import BadRequest, Cancelled, ErrorCode, ModelError, NoModel

log = logging.getLogger(__name__)

TOKENIZER_CTX = 64  # the vocabulary-only llama.cpp model that tokenizes needs a context, never used
# Device types where speculative `auto` drafts by skipping layers. On a CPU the output head dominates a step, so
# a draft cost 0.97 of one on the embedded model and forced `skip` ran at 0.49x plain (README); on a GPU the
# layers dominate a large model's step. Tests pass ("cpu",) to run the idle search on this machine.
SKIP_AUTO_DEVICES = ("cuda",)


def default_precision(cuda: bool) -> str:
    """bf16 on a GPU (half the bytes, the tensor cores' type), f32 on a CPU (the exact reference)."""
    return "bf16" if cuda else "f32"


def activation_dtype(precision: str, cuda: bool) -> torch.dtype:
    """Activations and KV cache: f32 only for f32, or for int8/int4 on a CPU, whose kernels want f32 there."""
    if precision == "f32" or (precision in ("int8", "int4") and not cuda):
        return torch.float32
    return torch.bfloat16


class TorchBackend(SessionTokens, Backend):
    """Generation through inference.backends.torch_decode; tokens come from llama.cpp's own tokenizer of the same GGUF."""

    name = "torch"

    def __init__(self, skip_auto_devices: tuple[str, ...] = SKIP_AUTO_DEVICES) -> None:
        self.vocab: LlamaSession | None = None
        self.decoder: Decoder | None = None
        self._n_ctx = 0
        self._precision = ""
        self.skip_auto_devices = skip_auto_devices
        self._skip_sets: SkipSets | None = None  # the loaded model's skip set: stored, or searched when idle
        self._skip: SkipSpeculation | None = None  # the drafter and its controller, once a stored set is used

    def load_model(self, model: ModelInfo, options: LoadOptions) -> dict:
        """A registry entry's precision applies unless the request names one."""
        if options.precision is None and model.precision is not None:
            options = replace(options, precision=model.precision)
        return self.load(Path(model.path), options)

    def load(self, path: Path, options: LoadOptions) -> dict:
        cuda = torch.cuda.is_available()
        precision = options.precision or default_precision(cuda)
        if precision not in PRECISIONS:
            raise BadRequest(f"Unknown precision {precision!r}; the torch engine runs {', '.join(PRECISIONS)}.")
        if precision == "int4" and options.group_size not in GROUP_SIZES:
            raise BadRequest(f"int4 group_size must be one of {', '.join(map(str, GROUP_SIZES))}, not {options.group_size}.")
        if options.head_precision not in HEAD_PRECISIONS:
            raise BadRequest(f"head_precision must be one of {', '.join(HEAD_PRECISIONS)}, not {options.head_precision!r}.")
        info = inspect_gguf(path, sha256="-")  # validate before anything reads tensors
        self.unload()
        if options.n_threads:
            torch.set_num_threads(options.n_threads)
        t0 = time.perf_counter()
        device = torch.device("cuda" if cuda else "cpu")
        dtype = activation_dtype(precision, cuda)
        n_ctx = min(options.n_ctx, info.context_length or options.n_ctx)
        quant = QuantConfig.of_precision(precision, options.group_size, options.head_precision)
        model = self._model(path, precision, dtype, device, quant, n_ctx)
        self.decoder = Decoder(model, n_ctx, dtype, use_graph=cuda)
        self.vocab = LlamaSession.open(path, n_ctx=TOKENIZER_CTX, n_batch=TOKENIZER_CTX, vocab_only=True)
        self._n_ctx, self._precision = n_ctx, precision
        self._skip_sets = SkipSets(model, "unregistered", self._skip_setting(), None)  # attach_cache gives it cache.db
        return {
            "backend": self.name, "engine": self.name, "device": _device_name(device), "precision": precision,
            "dtype": str(dtype).removeprefix("torch."), "n_ctx": n_ctx, "n_layers": model.args.n_layer,
            "n_threads": torch.get_num_threads(), "cuda_graph": cuda, "load_s": round(time.perf_counter() - t0, 2),
            **({"group_size": options.group_size} if precision == "int4" else {}),
            **({"weights": quant.describe()} if quant is not None else {}),
            **({"int8_kernel": int8_cuda_path()} if precision == "int8" and cuda else {}),
        }

    def _model(self, path: Path, precision: str, dtype: torch.dtype, device: torch.device, quant: QuantConfig | None, n_ctx: int):
        """The weights in `precision` on `device`; int8/int4 are fitted tensor by tensor as the GGUF is read."""
        try:
            return load_gguf(path, dtype=dtype, device=device, max_seq_len=n_ctx, quant=quant).eval()
        except torch.OutOfMemoryError:
            raise ModelError(f"{path.name} does not fit in the GPU's memory at {precision}; try int8 or int4.", code=ErrorCode.OUT_OF_MEMORY) from None

    @property
    def session(self) -> LlamaSession:
        if self.vocab is None:
            raise NoModel("No model is loaded; send load_model first.")
        return self.vocab

    @property
    def n_ctx(self) -> int:
        if self.decoder is None:
            raise NoModel("No model is loaded; send load_model first.")
        return self._n_ctx

    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        if len(prompt) >= self.n_ctx:
            raise ModelError(f"The prompt has {len(prompt)} tokens but the context holds {self.n_ctx}.", code=ErrorCode.CONTEXT_OVERFLOW)
        stats.prompt_tokens = len(prompt)
        return self._decode(prompt, params, stats, context)

    def _decode(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext) -> Iterator[int]:
        """Prefill, then one token at a time until an end token, max_tokens or the context's end."""
        decoder = self.decoder
        assert decoder is not None
        sample = Sampler(params)
        skip = self._skip_speculation(prompt, params, stats, context)
        logits, stats.tokens_reused = decoder.prefill(prompt, context.cancel)
        stats.extra["cache"] = "live" if stats.tokens_reused else "cold"
        if skip is not None:
            yield from skip.generate(decoder.tokens, logits, params, stats, context)
            return
        budget = min(params.max_tokens, self.n_ctx - len(prompt))
        history = list(prompt)
        while True:
            token = sample(logits, history)
            if self.is_end(token):
                return
            stats.generated_tokens += 1
            yield token
            if stats.generated_tokens >= budget:
                return
            if context.cancel is not None and context.cancel.is_set():
                raise Cancelled("Generation was stopped.")
            history.append(token)
            logits = decoder.step(token)

    def attach_cache(self, db_path: Path | None, model_sha256: str) -> None:
        """Skip sets of this model are read from and stored in db_path (the engine calls this right after a load)."""
        if self.decoder is not None:
            self._skip_sets = SkipSets(self.decoder.model, model_sha256 or "unregistered", self._skip_setting(), db_path)

    def _skip_setting(self) -> str:
        return f"{self.decoder.device.type}:{self._precision}"

    def _skip_speculation(self, prompt: list[int], params: SamplingParams, stats: GenerationStats,
                          context: RequestContext) -> SkipSpeculation | None:
        """Layer-skipping self-speculation for a greedy request that asks for it (`skip`, or `auto` on a GPU).

        The skip set is the stored one of this model and setting. Without one, `auto` decodes plainly and the
        search runs on the prompts seen when the worker is idle (idle_step), so it never delays an answer;
        forced `skip` finishes the search first, because its user asked for skipping and a worker that serves
        one request (the command line) is never idle. The search writes a scratch cache of its own, so the
        live prefix survives it. The controller then turns drafting off where verifying does not pay.
        """
        sets, decoder = self._skip_sets, self.decoder
        assert sets is not None and decoder is not None
        sets.note_prompt(prompt)
        forced = context.speculative == "skip"
        if not (params.greedy and (forced or (context.speculative == "auto" and decoder.device.type in self.skip_auto_devices))):
            return None
        t0, waited = time.perf_counter(), forced and sets.stored is None
        choice = sets.search_now(context.cancel) if forced else sets.choice()
        if waited and choice is not None:
            stats.extra["skip_search_s"] = round(time.perf_counter() - t0, 2)  # this answer waited for the search
        stats.extra["skip_set"] = sets.state
        if choice is not None:
            stats.extra["skip_layers"] = len(choice.skip)  # 0: the search found that skipping does not pay here
        if choice is None or not choice.skip:
            return None
        if self._skip is None:
            self._skip = SkipSpeculation(decoder.model, self.is_end, self._n_ctx)
        if self._skip.drafter is None or self._skip.drafter.skip != choice.skip:
            self._skip.adopt_skip(choice.skip)
        return self._skip

    @property
    def skip_sets(self) -> SkipSets | None:
        """The loaded model's skip set and its search (benchmarks read the search's step times)."""
        return self._skip_sets

    def idle_step(self) -> bool:
        """One step of the skip-set search, when a request wanted one and none is stored."""
        return self._skip_sets is not None and self._skip_sets.idle_step()

    def cache_stats(self) -> dict:
        """The skip set's state (none, pending, searching, stored, failed); the torch engine keeps no session caches."""
        return {"skip_set": self._skip_sets.status()} if self._skip_sets is not None else {}

    def check_scoring(self) -> None:
        """The forward gives the logits of every position: every text can be scored."""

    @torch.no_grad()
    def score(self, tokens: list[int], stats: ScoreStats, cancel: threading.Event | None = None) -> list[float]:
        """log p(token i | tokens before it) for i ≥ 1, from one forward of the text in CHUNK-sized pieces.

        No prefix is kept between texts: the forward writes the cache from position 0, so the live sequence is
        forgotten and the next prefill reads its prompt again (a GPU reads a sentence in well under a millisecond)."""
        decoder = self.decoder
        if decoder is None:
            raise NoModel("No model is loaded; send load_model first.")
        decoder.reset()
        logprobs: list[float] = []
        for start in range(0, len(tokens), CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled("Scoring was stopped.")
            chunk = tokens[start : start + CHUNK]
            idx = torch.tensor([chunk], dtype=torch.long, device=decoder.device)
            rows = torch.log_softmax(decoder.model(idx, torch.arange(start, start + len(chunk), device=decoder.device))[0], dim=-1)
            following = torch.tensor(tokens[start + 1 : start + 1 + len(chunk)], dtype=torch.long, device=decoder.device)
            logprobs += rows[torch.arange(len(following), device=decoder.device), following].tolist()
        stats.tokens_evaluated += len(tokens)
        return logprobs

    def unload(self) -> None:
        if self.vocab is not None:
            self.vocab.close()
        self.vocab = self.decoder = self._skip = self._skip_sets = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the worker outlives the model: give its memory back to the device


def _device_name(device: torch.device) -> str:
    if device.type != "cuda":
        return "cpu"
    names = gpu_names()
    return f"cuda:{names[0] if names else torch.cuda.get_device_name(device)}"

