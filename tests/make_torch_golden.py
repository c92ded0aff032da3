"""Regenerate tests/data/torch_golden.npz: llama.cpp's logits of the embedded model, all-F32, at every position.

Not run in CI (it rebuilds a 1.08 GB all-F32 copy of the embedded GGUF): run it once after changing the
text or the llama.cpp version, and commit the fixture. Usage: python -m tests.make_torch_golden
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from inference.backends import llama_adapter as adapter
from inference.backends.torch_agreement import top_k_summary
from inference.bench.texts import sample_text
from inference.compress.reference import rebuild_reference
from inference.models import ensure_embedded_model
from inference.paths import home_dir

FIXTURE = Path(__file__).parent / "data" / "torch_golden.npz"
N_TOKENS = 800  # past the 512-token sliding window, or the window is never tested
TOP_K = 20
GGML_TYPE_F32 = 0  # the KV cache in f32: an f16 cache alone moves llama.cpp as much as the torch forward does


def golden_tokens(llm: object, n: int = N_TOKENS) -> list[int]:
    """The first n tokens of the bundled sample prose (with BOS)."""
    return llm.tokenize(sample_text().encode("utf-8"), add_bos=True, special=False)[:n]  # type: ignore[attr-defined]


def reference_logits(f32_path: Path, tokens: list[int]) -> np.ndarray:
    """llama.cpp's logits at every position, one batch, f32 KV cache, no flash attention."""
    n = len(tokens)
    llm = adapter.open_llama(f32_path, n_ctx=n, n_batch=n, n_ubatch=n, logits_all=True, flash_attn=False,
                             type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32)
    llm.eval(tokens)
    out = np.array(adapter.all_logits(llm, n), dtype=np.float32)
    llm.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", default=None, help="data directory holding the embedded model")
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    source = ensure_embedded_model(home_dir(args.home))
    with tempfile.TemporaryDirectory() as tmp:
        f32 = rebuild_reference(source, Path(tmp) / "embedded-f32.gguf", "F32")
        vocab = adapter.open_llama(f32, n_ctx=64, vocab_only=True)
        tokens = golden_tokens(vocab)
        logits = reference_logits(f32, tokens)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, tokens=np.array(tokens, dtype=np.int32), **{k: v.numpy() for k, v in top_k_summary(torch.from_numpy(logits), TOP_K).items()})
    logging.info("wrote %s: %d positions, top-%d", args.out, len(tokens), TOP_K)


if __name__ == "__main__":
    main()
