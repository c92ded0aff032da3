"""The test models are what they claim: the tiny GGUF loads and tokenizes in llama.cpp, the bad files are refused."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import gguf
import pytest

from tests import tiny_model as _tiny

ENGLISH = "The scriptorium was quiet; a careful writer reads each sentence aloud."
CHINESE = "道可道，非常道。我们的写作工具完全在本机运行，不需要网络。"


def _open(path: Path) -> Any:
    """Load through the project's loader once it exists, as every caller must; bare llama_cpp until then."""
    llama_cpp = pytest.importorskip("llama_cpp")
    try:
        from inference.backends.llama_adapter import open_llama
    except ImportError:
        return llama_cpp.Llama(model_path=str(path), n_ctx=512, verbose=False)
    return open_llama(path, n_ctx=512, verbose=False)


@pytest.fixture(scope="module")
def llm(tiny_model: Path) -> Any:
    """One loaded tiny model shared by this module's tests."""
    return _open(tiny_model)


def _greedy(llm: Any, prompt: list[int], n: int) -> list[int]:
    """Greedy-decode n tokens from a fresh context, ignoring end-of-sequence so the count is fixed."""
    llm.reset()
    out: list[int] = []
    for token in llm.generate(prompt, top_k=1, temp=0.0):
        out.append(token)
        if len(out) == n:
            return out
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_is_deterministic_and_small(tmp_path: Path, tiny_model: Path) -> None:
    again = _tiny.build_tiny_model(tmp_path)
    assert _sha(again) == _sha(tiny_model)
    assert 100_000 < tiny_model.stat().st_size < 2_000_000


def test_metadata_is_llama_spm(tiny_model: Path) -> None:
    reader = gguf.GGUFReader(tiny_model)
    fields = reader.fields
    assert fields["general.architecture"].contents() == "llama"
    assert fields["tokenizer.ggml.model"].contents() == "llama"
    assert fields["llama.context_length"].contents() == _tiny.CONTEXT_LENGTH
    tokens = fields["tokenizer.ggml.tokens"].contents()
    types = fields["tokenizer.ggml.token_type"].contents()
    assert len(tokens) == len(types) == _tiny.VOCAB_SIZE
    assert tokens.count("<0x41>") == 1 and types[tokens.index("<0x41>")] == gguf.TokenType.BYTE
    assert types.count(gguf.TokenType.BYTE) == 256
    assert len(reader.tensors) == 2 + 9 * _tiny.N_LAYERS + 1


def test_loads_in_llama_cpp(llm: Any) -> None:
    assert llm.n_vocab() == _tiny.VOCAB_SIZE
    assert llm.n_ctx() == 512
    assert llm.metadata["general.architecture"] == "llama"


@pytest.mark.parametrize("text", [ENGLISH, CHINESE, ENGLISH + "\n" + CHINESE], ids=["en", "zh", "mixed"])
def test_tokenize_round_trips(llm: Any, text: str) -> None:
    data = text.encode("utf-8")
    ids = llm.tokenize(data, add_bos=False)
    assert llm.detokenize(ids) == data
    with_bos = llm.tokenize(data, add_bos=True)
    assert with_bos[0] == llm.token_bos() and with_bos[1:] == ids


def test_vocabulary_covers_chinese(llm: Any) -> None:
    # Falling back to bytes would give three tokens per character; the vocabulary must hold the characters themselves.
    ids = llm.tokenize(CHINESE.encode("utf-8"), add_bos=False)
    assert len(ids) <= len(CHINESE) + 1


def test_greedy_generation_is_deterministic(llm: Any) -> None:
    prompt = llm.tokenize(ENGLISH.encode("utf-8"), add_bos=True)
    first = _greedy(llm, prompt, 16)
    second = _greedy(llm, prompt, 16)
    assert len(first) == 16
    assert first == second
    assert all(0 <= t < _tiny.VOCAB_SIZE for t in first)
    assert len(set(first)) > 1, "constant output means the logits are broken (NaN or zero)"


def test_chat_model_carries_template(tiny_chat_model: Path, tiny_model: Path) -> None:
    reader = gguf.GGUFReader(tiny_chat_model)
    assert reader.fields["tokenizer.chat_template"].contents() == _tiny.CHAT_TEMPLATE
    assert "tokenizer.chat_template" not in gguf.GGUFReader(tiny_model).fields
    llm = _open(tiny_chat_model)
    marker = llm.tokenize(b"<start_of_turn>", add_bos=False, special=True)
    assert len(marker) == 1 and llm.token_eos() != marker[0]


def test_missing_is_missing(bad_models: dict[str, Path]) -> None:
    assert not bad_models["missing"].exists()
    with pytest.raises(ValueError):
        _open(bad_models["missing"])


@pytest.mark.parametrize("kind", ["not_gguf", "truncated"])
def test_broken_files_fail_to_parse(bad_models: dict[str, Path], kind: str) -> None:
    assert bad_models[kind].is_file()
    with pytest.raises(ValueError):
        gguf.GGUFReader(bad_models[kind])
    with pytest.raises(ValueError):
        _open(bad_models[kind])


def test_unsupported_arch_parses_but_does_not_load(bad_models: dict[str, Path]) -> None:
    reader = gguf.GGUFReader(bad_models["unsupported_arch"])
    assert reader.fields["general.architecture"].contents() == "notarealarch"
    with pytest.raises(ValueError):
        _open(bad_models["unsupported_arch"])


@pytest.mark.parametrize("text", [ENGLISH, CHINESE], ids=["en", "zh"])
def test_llama_cpp_tokenizes_like_sentencepiece(llm: Any, text: str) -> None:
    # Equal ids prove the vocabulary, scores and types reached llama.cpp as the trained tokenizer meant them.
    sp = _tiny._train_tokenizer()
    assert llm.tokenize(text.encode("utf-8"), add_bos=False) == sp.encode(text)
