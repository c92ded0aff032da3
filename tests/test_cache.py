"""Session caches: a hit (in memory or restored from cache.db) gives exactly the tokens of a fresh run; the store is bounded and never trusts a bad blob."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from inference.backends.base import GenerationStats, LoadOptions, RequestContext, SamplingParams
from inference.cache import Identity, MemoryStates, SavedState, StateStore, clear, drop_models_except, usable_prefix

TEXT = "The scriptorium was quiet; a careful writer reads each sentence aloud. 我们的写作工具完全在本机运行。 " * 6
OTHER = "A different document about bees, hives and honey, read slowly in the evening. " * 6
ID = Identity("sha-a", "lib 1", "n_ctx=1024")


def _state(doc: str, n_tokens: int, n_bytes: int, first: int = 1) -> SavedState:
    return SavedState(doc, np.arange(first, first + n_tokens, dtype=np.int32), np.full(n_bytes, 7, dtype=np.uint8), 0)


def _backend(model: Path, db: Path | None, sha: str = "sha-tiny", n_ctx: int = 1024):
    from inference.backends.llama_cpp import LlamaCppBackend

    backend = LlamaCppBackend()
    backend.load(model, LoadOptions(n_ctx=n_ctx))
    backend.attach_cache(db, sha)
    return backend


def _greedy(backend, text: str, doc: str | None, n: int = 24) -> tuple[list[int], GenerationStats]:
    stats = GenerationStats()
    ids = backend.tokenize(text)
    out = list(backend.generate(ids, SamplingParams(max_tokens=n, temperature=0), stats, RequestContext(doc, "off")))
    return out, stats


def _fresh(model: Path, text: str, n: int = 24) -> list[int]:
    backend = _backend(model, None)
    try:
        return _greedy(backend, text, None, n)[0]
    finally:
        backend.unload()


def boundary(prompt_tokens: int, size: int = LoadOptions().n_batch) -> int:
    """How much of a prompt a later request can keep: its whole batches, short of its last token."""
    return (prompt_tokens - 1) // size * size


# -- pure parts ----------------------------------------------------------------------------------
def test_usable_prefix_respects_the_sliding_window() -> None:
    cached = list(range(1000))
    prompt = list(range(900)) + [-1]
    assert usable_prefix(cached, 0, prompt, n_swa=0) == 900
    assert usable_prefix(cached, 0, prompt, n_swa=512) == 900  # the window before the cut is all there
    assert usable_prefix(cached, 500, prompt, n_swa=512) == 0  # positions 388..499 were forgotten
    assert usable_prefix(cached, 500, cached + [5], n_swa=512) == 1000  # no cut: all of it stands


def test_usable_prefix_ends_on_a_batch_boundary_within_the_exact_part() -> None:
    cached = list(range(1000))
    assert usable_prefix(cached, 0, list(range(900)) + [-1], n_swa=0, align=128) == 896
    assert usable_prefix(cached, 0, cached + [5], n_swa=0, align=128, exact_upto=768) == 768
    assert usable_prefix(cached, 0, cached[:512], n_swa=0, align=128) == 384  # the last token is always read again


def test_memory_states_evict_least_recently_used() -> None:
    memory = MemoryStates(budget=3 * 1000 + 3 * 40)
    for doc in ("a", "b", "c"):
        memory.put(_state(doc, 10, 1000))
    memory.touch(memory.for_doc("a")[0])
    memory.put(_state("d", 10, 1000))
    assert sorted(d for d, _ in memory.items) == ["a", "c", "d"]


def test_store_budget_evicts_least_recently_used(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "cache.db", ID, budget=2500)
    try:
        for doc in ("a", "b", "c"):
            store.save(_state(doc, 10, 1000))
            store.flush()
        assert {d for d in ("a", "b", "c") if store.candidates(d)} == {"b", "c"}
        assert store.stats()["bytes"] <= 2500
    finally:
        store.close()


def test_corrupt_blob_is_discarded_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = StateStore(tmp_path / "cache.db", ID, budget=10**6)
    try:
        state = _state("a", 10, 1000)
        store.save(state)
        store.flush()
        with sqlite3.connect(tmp_path / "cache.db") as db:
            db.execute("UPDATE states SET state = zeroblob(1000)")
        with caplog.at_level(logging.WARNING, logger="inference.cache"):
            assert store.load("a", state.prefix_hash) is None
        assert "corrupt" in caplog.text
        assert store.candidates("a") == []
    finally:
        store.close()


def test_entries_of_removed_models_go(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    for sha in ("keep", "gone"):
        store = StateStore(db, Identity(sha, "lib", "s"), budget=10**6)
        store.save(_state("a", 5, 100))
        store.close()
    assert drop_models_except(db, {"keep"}) == 1
    assert clear(db, "gone") == 0 and clear(db) == 1


# -- the real llama.cpp path (tiny model) ----------------------------------------------------------
def test_warm_hit_gives_the_tokens_of_a_fresh_run(tiny_model: Path, tmp_path: Path) -> None:
    backend = _backend(tiny_model, tmp_path / "cache.db")
    try:
        first, _ = _greedy(backend, TEXT, "doc:1")
        _greedy(backend, OTHER, "doc:2")  # the live context now holds another document
        again, stats = _greedy(backend, TEXT, "doc:1")
    finally:
        backend.unload()
    assert stats.extra["cache"] == "memory" and stats.tokens_reused == boundary(stats.prompt_tokens)
    assert again == first == _fresh(tiny_model, TEXT)


def test_restored_from_sqlite_in_a_new_model_object(tiny_model: Path, tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    backend = _backend(tiny_model, db)
    _greedy(backend, TEXT, "doc:1")
    backend.unload()  # flushes the writer
    backend = _backend(tiny_model, db)
    try:
        edited = TEXT + " One more sentence."
        out, stats = _greedy(backend, edited, "doc:1")
    finally:
        backend.unload()
    assert stats.extra["cache"] == "disk"
    assert stats.tokens_reused == boundary(len(backend_tokens(tiny_model, TEXT)))
    assert out == _fresh(tiny_model, edited)


def backend_tokens(model: Path, text: str) -> list[int]:
    backend = _backend(model, None)
    try:
        return backend.tokenize(text)
    finally:
        backend.unload()


def test_a_state_of_another_model_is_never_offered(tiny_model: Path, tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    backend = _backend(tiny_model, db, sha="sha-one")
    _greedy(backend, TEXT, "doc:1")
    backend.unload()
    backend = _backend(tiny_model, db, sha="sha-two")
    try:
        _, stats = _greedy(backend, TEXT, "doc:1")
    finally:
        backend.unload()
    assert stats.extra["cache"] == "cold" and stats.tokens_reused == 0


def test_mismatched_blob_is_refused_and_discarded(tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "cache.db"
    backend = _backend(tiny_model, db)
    _greedy(backend, TEXT, "doc:1")
    backend.unload()
    with sqlite3.connect(db) as conn:  # a cut-short blob with a matching checksum: only llama.cpp can tell
        import zlib

        blob = conn.execute("SELECT state FROM states").fetchone()[0][:1000]
        conn.execute("UPDATE states SET state=?, bytes=?, checksum=?", (blob, len(blob), zlib.crc32(blob)))
    backend = _backend(tiny_model, db)
    try:
        with caplog.at_level(logging.WARNING):
            out, stats = _greedy(backend, TEXT, "doc:1")
        backend.cache.store.flush()
        remaining = backend.cache.store.candidates("doc:1")
    finally:
        backend.unload()
    assert stats.extra["cache"] == "cold" and "refused" in caplog.text
    assert out == _fresh(tiny_model, TEXT)
    assert len(remaining) == 1  # the bad row is gone; only the new, good state is left


def test_worker_restart_restores_from_cache_db(tiny_model: Path, home: Path) -> None:
    from inference.client import WorkerClient

    def ask() -> dict:
        with WorkerClient(home=home) as client:
            client.call("load_model", path=str(tiny_model), n_ctx=1024)
            result = client.call("generate", raw_prompt=TEXT, max_tokens=16, temperature=0, doc_key="doc:7", speculative="off")
            result["cache_stats"] = client.call("cache_stats")
            return result

    cold, restored = ask(), ask()
    assert cold["stats"]["tokens_reused"] == 0
    assert restored["stats"]["cache"] == "disk" and restored["stats"]["tokens_reused"] == boundary(restored["stats"]["prompt_tokens"])
    assert restored["output"] == cold["output"]
    assert restored["cache_stats"]["entries"] >= 1 and restored["cache_stats"]["hits"] == 1


def test_cache_clear_op(tiny_model: Path, home: Path) -> None:
    from inference.client import WorkerClient

    with WorkerClient(home=home) as client:
        client.call("load_model", path=str(tiny_model), n_ctx=1024)
        client.call("generate", raw_prompt=TEXT, max_tokens=4, temperature=0, doc_key="doc:1", speculative="off")
        assert client.call("cache_clear")["deleted"] == 1
        stats = client.call("cache_stats")
    assert stats["entries"] == 0 and stats["memory"]["entries"] == 0


def test_a_lowered_budget_evicts_the_oldest_states_at_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "cache.db", ID, budget=10_000)
    try:
        for i, doc in enumerate(("doc-1", "doc-2", "doc-3")):
            store.save(_state(doc, 4, 1000, first=i * 10))
        store.flush()
        store.set_budget(2_500)
        assert [c[0] for c in store.candidates("doc-1")] == [] and store.candidates("doc-3")
        assert store.stats()["bytes"] <= 2_500 and store.stats()["budget"] == 2_500
    finally:
        store.close()


def test_cache_budget_op_reaches_the_worker_and_evicts(tiny_model: Path, home: Path) -> None:
    from inference.client import WorkerClient
    from inference.protocol import ErrorCode, WorkerError

    with WorkerClient(home=home) as client:
        client.call("load_model", path=str(tiny_model), n_ctx=1024, cache_budget_mb=64)
        assert client.call("cache_stats")["budget"] == 64 * 2**20
        for doc in ("doc-1", "doc-2"):
            client.call("generate", raw_prompt=doc + TEXT, max_tokens=4, temperature=0, doc_key=doc, speculative="off")
        assert client.call("cache_stats")["entries"] == 2
        stats = client.call("cache_budget", mb=0)
        assert stats["budget"] == 0 and stats["entries"] == 0
        with pytest.raises(WorkerError) as bad:
            client.call("cache_budget", mb="lots")
        assert bad.value.code == ErrorCode.BAD_REQUEST


@pytest.mark.embedded
def test_embedded_warm_and_restored_hits_equal_a_fresh_run(embedded_model: Path, tmp_path: Path) -> None:
    """Gemma 3 has a sliding window: a restored state is kept whole and only the typed tail is read."""
    db = tmp_path / "cache.db"
    text = TEXT * 2
    edited = text + " She closed the book."
    backend = _backend(embedded_model, db, sha="sha-embedded")
    try:
        first, first_stats = _greedy(backend, text, "doc:1", n=12)
        _greedy(backend, OTHER[:300], "doc:2", n=4)
        warm, warm_stats = _greedy(backend, text, "doc:1", n=12)
    finally:
        backend.unload()
    backend = _backend(embedded_model, db, sha="sha-embedded")
    try:
        restored, restored_stats = _greedy(backend, edited, "doc:1", n=12)
    finally:
        backend.unload()
    assert (warm_stats.extra["cache"], restored_stats.extra["cache"]) == ("memory", "disk")
    assert first_stats.prompt_tokens > 2 * LoadOptions().n_batch  # several batches, so the boundaries matter
    assert warm_stats.tokens_reused == restored_stats.tokens_reused == boundary(first_stats.prompt_tokens)
    assert warm == first == _fresh(embedded_model, text, n=12)
    assert restored == _fresh(embedded_model, edited, n=12)
