"""Token ids for `bench gpu`: the held-out text in the embedded model's tokenizer, or fixed ids for random models.

The GPU machine has no llama-cpp-python until its CUDA build (which comes last), so the ids can be written
here once (`bench gpu --write-tokens FILE`, by `make gpu-carry`) and carried. The skip-set search reads the
start of the held-out text; the self-speculation prompts come from later in it, so they are text the
search never saw.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SAMPLE_TOKENS = 256  # the skip-set search's sample, as the engine takes it
PROMPT_TOKENS = 128
PROMPTS = 4
PROMPTS_FROM = 1024  # the self-speculation prompts start past the search's sample and the prefill prompt


@dataclass(frozen=True)
class TokenSets:
    """The ids each section reads."""

    prefill: list[int]  # the time-to-first-token prompt
    sample: list[int]  # the skip-set search's text
    prompts: list[list[int]]  # the self-speculation prompts
    end_ids: list[int]
    text_source: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def from_ids(ids: list[int], end_ids: list[int], source: str, prefill_tokens: int, tiny: bool = False) -> TokenSets:
    """Cut one long run of ids (BOS first) into the sections' pieces."""
    bos, sample = ids[:1], SAMPLE_TOKENS // 4 if tiny else SAMPLE_TOKENS
    n, length, start = (3, 24, 2 * sample) if tiny else (PROMPTS, PROMPT_TOKENS, PROMPTS_FROM)
    if len(ids) < start + n * length:
        raise ValueError(f"the held-out text gives {len(ids)} tokens; the benchmark needs {start + n * length}")
    prompts = [bos + ids[start + i * length : start + (i + 1) * length] for i in range(n)]
    return TokenSets(ids[:prefill_tokens], ids[:sample], prompts, end_ids, source)


def tokenize_held_out(gguf: Path) -> tuple[list[int], list[int], str]:
    """The held-out text's ids in the GGUF's own tokenizer (llama.cpp, vocabulary only), its end ids, the text's source."""
    from llama_cpp import Llama

    from inference.compress.pipeline import read_held_out

    text, source = read_held_out(None)
    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    return ids, [int(llm.token_eos())], source


def write_tokens(gguf: Path | None, path: Path) -> None:
    """Write the ids `token_sets` reads back, for a machine without the tokenizer."""
    if gguf is None:
        raise SystemExit("--write-tokens needs the embedded model: pass --gguf FILE")
    ids, end_ids, source = tokenize_held_out(gguf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ids": ids, "end_ids": end_ids, "source": source}), encoding="utf-8")


def token_sets(path: Path | None, gguf: Path | None, prefill_tokens: int, tiny: bool) -> TokenSets:
    """From a written file, else the GGUF's tokenizer, else fixed ids in a tiny vocabulary (random models only)."""
    if path is not None:
        data = json.loads(path.read_text(encoding="utf-8"))
        return from_ids(data["ids"], data["end_ids"], data["source"], prefill_tokens, tiny)
    if gguf is not None:
        return from_ids(*tokenize_held_out(gguf), prefill_tokens, tiny)
    from inference.bench.gpu_models import TINY, random_ids

    ids = [1] + random_ids(TINY["embedded"].vocab_size - 2, 4096, seed=1)
    return from_ids([i + 2 for i in ids], [0], "fixed ids (random models)", prefill_tokens, tiny)
