"""The model registry: metadata from GGUF headers, one clear error per kind of bad file, default handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.gguf_meta import read_header
from inference.models import EMBEDDED_NAME, Registry, inspect_gguf
from inference.protocol import ErrorCode, ModelError


def test_inspect_reads_metadata(tiny_model: Path, tiny_chat_model: Path) -> None:
    info = inspect_gguf(tiny_model)
    assert info.architecture == "llama" and info.quantization == "F32"
    assert info.context_length == 2048 and info.parameters and info.parameters > 0
    assert info.size_bytes == tiny_model.stat().st_size and len(info.sha256) == 64
    assert info.chat_template is None
    assert inspect_gguf(tiny_chat_model).chat_template


def test_fast_header_reader_agrees_with_gguf_package(tiny_model: Path) -> None:
    import gguf

    header = read_header(tiny_model)
    reader = gguf.GGUFReader(str(tiny_model))
    assert header.tensor_count == len(reader.tensors)
    assert header.parameter_count == sum(int(t.n_elements) for t in reader.tensors)
    assert header.data_end == max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors) == tiny_model.stat().st_size
    assert header.fields["tokenizer.ggml.tokens"] == len(reader.fields["tokenizer.ggml.tokens"].data)


@pytest.mark.parametrize(
    "kind, code, words",
    [
        ("missing", ErrorCode.MODEL_NOT_FOUND, "No model file"),
        ("not_gguf", ErrorCode.NOT_GGUF, "not a GGUF"),
        ("truncated", ErrorCode.TRUNCATED_MODEL, "truncated"),
        ("unsupported_arch", ErrorCode.UNSUPPORTED_ARCHITECTURE, "notarealarch"),
    ],
)
def test_each_bad_file_has_its_own_error(bad_models: dict, kind: str, code: str, words: str) -> None:
    with pytest.raises(ModelError, match=words) as err:
        inspect_gguf(bad_models[kind])
    assert err.value.code == code


def test_add_use_remove(home: Path, tiny_model: Path, tiny_chat_model: Path, bad_models: dict) -> None:
    registry = Registry(home)
    added = registry.add(tiny_model, name="tiny")
    registry.add(tiny_chat_model)
    assert registry.get("tiny").sha256 == added.sha256
    registry.use("tiny")
    assert registry.default().name == "tiny"
    with pytest.raises(ModelError):
        registry.add(bad_models["not_gguf"])
    registry.remove("tiny")
    assert registry.default().name == EMBEDDED_NAME  # falls back, never dangles
    with pytest.raises(ModelError, match="models list"):
        registry.get("tiny")


def test_embedded_model_cannot_be_removed(home: Path) -> None:
    with pytest.raises(ModelError):
        Registry(home).remove(EMBEDDED_NAME)


def test_damaged_models_json_falls_back(home: Path) -> None:
    (home / "models.json").write_text("{not json")
    assert Registry(home)._load()["default"] == EMBEDDED_NAME


@pytest.mark.embedded
def test_embedded_model_is_assembled_and_verified(home: Path, embedded_model: Path) -> None:
    info = Registry(home).embedded()
    assert info.embedded and info.architecture == "gemma3" and info.quantization == "Q4_K_M"
    assert info.sha256 == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    # a damaged copy is rebuilt, not trusted
    with info.path.open("r+b") as f:
        f.truncate(1000)
    assert Registry(home).embedded().size_bytes == embedded_model.stat().st_size


@pytest.mark.embedded
def test_adding_the_embedded_file_by_path_keeps_its_name(home: Path, embedded_model: Path) -> None:
    registry = Registry(home)
    assert registry.add(embedded_model).name == EMBEDDED_NAME
    assert registry.use(str(embedded_model)).name == EMBEDDED_NAME
    assert [m.name for m in registry.list()] == [EMBEDDED_NAME]


def test_removing_a_model_drops_its_session_caches(home: Path, tiny_model: Path) -> None:
    import sqlite3

    import numpy as np

    from inference.cache import Identity, SavedState, StateStore

    registry = Registry(home)
    info = registry.add(tiny_model, name="tiny")
    store = StateStore(home / "cache.db", Identity(info.sha256, "lib", "s"), budget=10**6)
    store.save(SavedState("doc:1", np.arange(4, dtype=np.int32), np.zeros(64, dtype=np.uint8), 0))
    store.close()
    registry.remove("tiny")
    assert sqlite3.connect(home / "cache.db").execute("SELECT COUNT(*) FROM states").fetchone()[0] == 0


def test_a_model_larger_than_free_memory_is_refused_before_loading(tmp_path: Path, tiny_model: Path) -> None:
    import psutil

    from inference.backends.base import LoadOptions
    from inference.backends.llama_adapter import gpu_offload_supported
    from inference.backends.llama_cpp import LlamaCppBackend

    if gpu_offload_supported():
        pytest.skip("with a GPU build the weights go to GPU memory; this checks the CPU path")
    huge = tmp_path / "huge.gguf"
    huge.write_bytes(tiny_model.read_bytes())
    with huge.open("r+b") as f:  # a sparse tail: as big as a 70B model on disk, no disk space used
        f.truncate(psutil.virtual_memory().available + 2**30)
    with pytest.raises(ModelError, match="free") as err:
        LlamaCppBackend().load(huge, LoadOptions())
    assert err.value.code == ErrorCode.OUT_OF_MEMORY


def test_checksums_of_unregistered_paths_are_remembered_until_the_file_changes(home: Path, tmp_path: Path, tiny_model: Path) -> None:
    import json
    import os

    model = tmp_path / "m.gguf"
    model.write_bytes(tiny_model.read_bytes())
    registry = Registry(home)
    first = registry.get(str(model)).sha256
    key = str(model.resolve())
    assert json.loads((home / "models.json").read_text())["checksums"][key][2] == first
    with model.open("r+b") as f:  # same size, new content and mtime: the remembered checksum must not be trusted
        f.seek(-1, os.SEEK_END)
        f.write(b"\x01")
    os.utime(model, ns=(0, 1))
    assert registry.get(str(model)).sha256 != first
