"""Embeddings: the torch MiniLM against sentence-transformers' golden vectors, and the worker's `embed` op on the
tiny GGUF in llama.cpp's embedding mode (batches, progress, cancel, encodings, bad requests)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from inference.client import WorkerClient
from inference.embedders import EmbedParams, decode_vectors, embed_all, encode_vectors
from inference.embedders.base import Embedder
from inference.models import file_sha256
from inference.protocol import BadRequest, Cancelled, Done, Error, ErrorCode, Progress

GOLDEN = Path(__file__).parent / "data" / "minilm_golden.json"
TEXTS = ["The river rose over its banks.", "床前明月光，疑是地上霜。", "A careful writer reads aloud.", "short", ""]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    from inference.embedders.minilm import MiniLM, package_zip

    try:
        package_zip()
    except Exception as exc:  # the package is installed by `make install`, --no-deps
        pytest.skip(str(exc))
    return MiniLM()


@pytest.fixture
def worker(home: Path):
    with WorkerClient(home=home) as client:
        yield client


def test_torch_minilm_matches_the_sentence_transformers_golden_vectors(minilm) -> None:
    golden = json.loads(GOLDEN.read_text("utf-8"))
    vectors, tokens = minilm.embed_batch(golden["sentences"])
    reference = np.asarray(golden["vectors"], dtype=np.float32)
    cosines = (vectors * reference).sum(1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.999, cosines
    assert vectors.shape == (len(golden["sentences"]), 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert 0 < tokens <= 256 * len(golden["sentences"]), "the 12-sentence repeat is cut at 256 tokens"


def test_minilm_identity_is_the_sha256_of_its_zip_and_a_batch_equals_single_texts(minilm) -> None:
    assert minilm.sha256 == file_sha256(minilm_zip()) and minilm.dim == 384
    batch, _ = minilm.embed_batch(TEXTS)
    singles = np.stack([minilm.embed_batch([t])[0][0] for t in TEXTS])
    assert np.abs(batch - singles).max() < 1e-5, "padding changes nothing"


def test_minilm_unpacked_into_the_data_directory_gives_the_same_vectors(minilm, tmp_path: Path) -> None:
    from inference.embedders.minilm import MiniLM, unpacked

    mapped = MiniLM(home=tmp_path)
    folder = unpacked(minilm_zip(), tmp_path)
    assert (folder / ".sha256").read_text().strip() == minilm.sha256 == mapped.sha256
    assert np.array_equal(mapped.embed_batch(TEXTS)[0], minilm.embed_batch(TEXTS)[0])
    (folder / ".sha256").write_text("stale\n")
    (folder / "model.safetensors").write_bytes(b"")
    assert unpacked(minilm_zip(), tmp_path) == folder and (folder / "model.safetensors").stat().st_size > 80e6


def minilm_zip() -> Path:
    from inference.embedders.minilm import package_zip

    return package_zip()


def test_embed_op_on_the_tiny_gguf_batches_reports_progress_and_keeps_order(worker: WorkerClient, tiny_model: Path) -> None:
    texts = [f"{t} {i}" for i in range(3) for t in TEXTS]  # 15 texts, batches of 4
    events = list(worker.events(worker.send("embed", texts=texts, model=str(tiny_model), batch_size=4), timeout=120))
    progress, done = [e for e in events if isinstance(e, Progress)], events[-1]
    assert isinstance(done, Done), done
    assert [round(p.fraction, 3) for p in progress] == [round(n / 15, 3) for n in (4, 8, 12, 15)]
    assert progress[-1].stage == "embed" and progress[-1].message == "15/15 texts"
    model = done.result["model"]
    assert (model["kind"], model["dim"], model["sha256"], model["pooling"]) == ("gguf", 64, file_sha256(tiny_model), "mean")
    vectors = decode_vectors(done.result)
    assert vectors.shape == (15, 64) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    one = decode_vectors(worker.call("embed", texts=[texts[7]], model=str(tiny_model), timeout=60))[0]
    assert float(one @ vectors[7]) > 0.9999, "request order is kept though batches are sorted by length"
    assert float(vectors[0] @ vectors[1]) < 0.999, "different texts, different vectors"


def test_embed_op_lists_floats_on_request_and_describes_the_embedder_without_texts(worker: WorkerClient, tiny_model: Path) -> None:
    listed = worker.call("embed", texts=TEXTS[:2], model=str(tiny_model), encoding="list", timeout=60)
    packed = worker.call("embed", texts=TEXTS[:2], model=str(tiny_model), timeout=60)
    assert isinstance(listed["vectors"], list) and isinstance(packed["vectors"], str)
    assert np.allclose(decode_vectors(listed), decode_vectors(packed), atol=1e-6)
    empty = worker.call("embed", texts=[], model=str(tiny_model), timeout=60)
    assert empty["count"] == 0 and empty["model"]["dim"] == 64 and decode_vectors(empty).shape == (0, 64)


def test_embed_op_stops_between_batches_on_cancel(worker: WorkerClient, tiny_model: Path) -> None:
    texts = [f"Passage number {i} about the mill and the river." for i in range(3000)]
    rid = worker.send("embed", texts=texts, model=str(tiny_model), batch_size=1)
    events = worker.events(rid, timeout=120)
    assert isinstance(next(events), Progress)  # it runs
    worker.cancel(rid)
    rest = list(events)
    assert isinstance(rest[-1], Error) and rest[-1].code == ErrorCode.CANCELLED
    assert len(rest) < len(texts) - 1, "it stopped before the end"
    assert worker.call("embed", texts=["still serving"], model=str(tiny_model), timeout=60)["count"] == 1


def test_embed_op_refuses_bad_parameters_before_loading_anything(worker: WorkerClient) -> None:
    for params, reason in (({"texts": "one"}, "list of strings"), ({"texts": ["a"], "batch_size": 0}, "batch_size"),
                           ({"texts": ["a"], "encoding": "hex"}, "encoding"), ({"texts": ["a"], "size": 3}, "Unknown"),
                           ({"texts": ["a"], "model": "no-such-model"}, "No model named")):
        events = list(worker.events(worker.request("embed", params), timeout=60))
        assert isinstance(events[-1], Error) and reason in events[-1].message, (params, events[-1])
    assert EmbedParams.from_wire({"texts": ["a"]}).model is None
    with pytest.raises(BadRequest):
        EmbedParams.from_wire({"texts": [1]})


class _Counting(Embedder):
    """A fake embedder: a text's vector is its length, one-hot; records the batches it was given."""

    def __init__(self) -> None:
        super().__init__("counting", "0" * 64, 8, 8)
        self.batches: list[list[str]] = []

    def embed_batch(self, texts, cancel=None):
        self.batches.append(texts)
        return np.eye(8, dtype=np.float32)[[len(t) % 8 for t in texts]], sum(map(len, texts))


def test_embed_all_batches_by_length_puts_results_back_in_order_and_checks_cancel_each_batch() -> None:
    fake, seen, cancel = _Counting(), [], threading.Event()
    texts = ["aaaa", "a", "aaa", "aa", "aaaaa"]
    vectors, tokens = embed_all(fake, texts, 2, lambda done, total: seen.append((done, total)), cancel)
    assert fake.batches == [["a", "aa"], ["aaa", "aaaa"], ["aaaaa"]] and seen == [(2, 5), (4, 5), (5, 5)]
    assert [int(v.argmax()) for v in vectors] == [4, 1, 3, 2, 5] and tokens == 15
    with pytest.raises(Cancelled):
        embed_all(fake, texts, 2, lambda done, total: cancel.set(), cancel)
    assert len(fake.batches) == 4, "one batch ran, then the cancel was seen"


def test_vectors_round_trip_through_both_encodings() -> None:
    v = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    for encoding in ("base64", "list"):
        result = {"count": 3, "model": {"dim": 5}, "encoding": encoding, "vectors": encode_vectors(v, encoding)}
        assert np.array_equal(decode_vectors(result), v)
