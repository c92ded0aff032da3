"""The torch engine's `score`: the same log-probabilities as llama.cpp's on the same tiny GGUF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.backends.base import LoadOptions, ScoreStats
from inference.backends.llama_session import LlamaSession
from inference.backends.torch_engine import TorchBackend
from tests import tiny_torch_models


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_torch_models.build(tmp_path_factory.mktemp("tiny-torch-score"), "llama")


def test_torch_scores_equal_llama_cpps_and_a_generation_after_them_prefills_again(tiny_llama: Path) -> None:
    backend = TorchBackend()
    backend.load(tiny_llama, LoadOptions(n_ctx=256, precision="f32"))
    session = LlamaSession.open(tiny_llama, n_ctx=256, n_batch=64, n_threads=1)
    try:
        for text in ("The scriptorium was a quiet room", "A quiet room, the scriptorium was"):
            tokens = session.tokenize(text)
            want = session.score(tokens, ScoreStats())
            got = backend.score(tokens, ScoreStats())
            assert len(got) == len(tokens) - 1 and np.allclose(got, want, atol=0.05)  # f16 KV in llama.cpp: noise only
        assert backend.decoder.tokens == []  # the scored text replaced the live sequence, which is forgotten
    finally:
        session.close()
        backend.unload()
