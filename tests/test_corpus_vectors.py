"""Passage vectors: a corpus embedded through the worker (the tiny GGUF), only what is missing, resumable after a
cancel or a kill, keyed by embedder; nearest passages by cosine with corpus and metadata filters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

from app.corpus.passages import passages_of
from app.corpus.records import TextRecord
from app.corpus.store import TextFilter, add_text, corpus_id, replace_text
from app.corpus.vectors import (
    embed_corpus, embed_query, embedders_of, nearest, register_embedder, store_vectors,
)
from app.errors import UserError
from app.store import open_db, open_memory_db
from inference.client import WorkerClient
from inference.models import file_sha256

ROOT = Path(__file__).resolve().parent.parent


def prose(n: int, seed: str) -> str:
    return " ".join(f"Sentence {i} of {seed} tells how the river rose and the mill {i % 7} stopped." for i in range(n))


@pytest.fixture
def worker(home: Path):
    with WorkerClient(home=home) as client:
        yield client


def stored_corpus(home: Path, texts: dict[str, str], corpus: str = "c") -> dict[str, int]:
    with closing(open_db(home)) as db:
        cid = corpus_id(db, corpus)
        return {title: add_text(db, cid, TextRecord(title=title, body=body, author=title[:1])) for title, body in texts.items()}


def vector_count(home: Path, sha256: str | None = None) -> int:
    with closing(open_db(home)) as db:
        where, params = ("WHERE model_sha256 = ?", [sha256]) if sha256 else ("", [])
        return db.execute(f"SELECT count(*) FROM embeddings {where}", params).fetchone()[0]


def test_a_corpus_is_embedded_once_then_only_what_changed(home: Path, worker: WorkerClient, tiny_model: Path) -> None:
    ids = stored_corpus(home, {"alpha": prose(40, "alpha"), "beta": prose(30, "beta")})
    seen: list[tuple[int, int]] = []
    first = embed_corpus(home, "c", str(tiny_model), lambda done, total: seen.append((done, total)), client=worker, batch=8)
    sha = file_sha256(tiny_model)
    assert (first.sha256, first.dim, first.embedded, first.already, first.cancelled) == (sha, 64, first.passages, 0, False)
    assert seen[0] == (0, first.passages) and seen[-1] == (first.passages, first.passages) and vector_count(home) == first.passages
    again = embed_corpus(home, "c", str(tiny_model), client=worker)
    assert (again.embedded, again.already) == (0, first.passages)
    with closing(open_db(home)) as db:
        replace_text(db, ids["beta"], TextRecord(title="beta", body=prose(12, "gamma")))
        beta = len(passages_of(db, ids["beta"]))
    changed = embed_corpus(home, "c", str(tiny_model), client=worker)
    assert changed.embedded == beta and changed.passages == changed.already + beta, "only the new text's passages"


def test_stored_vectors_are_the_embeddings_of_the_passage_texts(home: Path, worker: WorkerClient, tiny_model: Path) -> None:
    ids = stored_corpus(home, {"alpha": prose(20, "alpha")})
    embed_corpus(home, "c", str(tiny_model), client=worker)
    with closing(open_db(home)) as db:
        passage = passages_of(db, ids["alpha"], with_text=True)[1]
        query = embed_query(passage.text, str(tiny_model), client=worker)
        assert query.sha256 == file_sha256(tiny_model) and query.vector.shape == (64,)
        (best, score), *_ = nearest(db, query.vector, "c", query.sha256, k=3)
    assert best == passage.id and score > 0.9999


def test_another_embedder_adds_its_own_vectors_and_leaves_the_first_ones(home: Path, worker: WorkerClient, tiny_model: Path,
                                                                          tiny_chat_model: Path) -> None:
    stored_corpus(home, {"alpha": prose(30, "alpha")})
    first = embed_corpus(home, "c", str(tiny_model), client=worker)
    other = embed_corpus(home, "c", str(tiny_chat_model), client=worker)
    assert other.sha256 != first.sha256 and (other.embedded, other.already) == (first.passages, 0)
    assert vector_count(home, first.sha256) == vector_count(home, other.sha256) == first.passages
    with closing(open_db(home)) as db:
        assert {u.sha256 for u in embedders_of(db, "c")} == {first.sha256, other.sha256}
    assert embed_corpus(home, "c", str(tiny_model), client=worker).embedded == 0


def test_a_cancelled_run_keeps_its_committed_batches_and_the_next_run_goes_on(home: Path, worker: WorkerClient, tiny_model: Path) -> None:
    stored_corpus(home, {"alpha": prose(60, "alpha")})
    cancel = threading.Event()
    stopped = embed_corpus(home, "c", str(tiny_model), lambda done, total: cancel.set() if done else None, cancel, worker, batch=3)
    assert stopped.cancelled and stopped.embedded == 3 and vector_count(home) == 3
    resumed = embed_corpus(home, "c", str(tiny_model), client=worker)
    assert not resumed.cancelled and (resumed.already, resumed.embedded) == (3, stopped.passages - 3)


def test_a_killed_embed_command_resumes_where_its_last_batch_was_committed(home: Path, tiny_model: Path) -> None:
    stored_corpus(home, {f"t{i}": prose(250, f"text {i}") for i in range(3)})  # about 150 passages: 3 batches
    command = [sys.executable, "-m", "app.cli", "corpus", "embed", "--corpus", "c", "--model", str(tiny_model), "--home", str(home), "--json"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while vector_count(home) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker, mid-run
    proc.wait()
    kept = vector_count(home)
    assert 0 < kept and kept % 64 == 0, "whole batches only"
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["already"] >= kept and report["already"] + report["embedded"] == report["passages"]
    assert vector_count(home) == report["passages"] > kept


@pytest.fixture
def db() -> Database:
    return open_memory_db()


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_nearest_ranks_by_cosine_within_the_corpus_and_filters(db: Database) -> None:
    a = add_text(db, corpus_id(db, "c"), TextRecord(title="a", body="One. Two.", author="Ann"))
    b = add_text(db, corpus_id(db, "c"), TextRecord(title="b", body="Three.", author="Bo"))
    elsewhere = add_text(db, corpus_id(db, "other"), TextRecord(title="x", body="Four."))
    pa, pb, px = (passages_of(db, t)[0].id for t in (a, b, elsewhere))
    register_embedder(db, {"sha256": "s" * 64, "name": "test", "dim": 3})
    store_vectors(db, "s" * 64, [pa, pb, px], np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(1, 0.1, 0)]))
    q = np.array([2.0, 0.0, 0.0])  # not unit length: nearest normalises it
    assert [pid for pid, _ in nearest(db, q, "c", "s" * 64)] == [pa, pb]
    assert nearest(db, q, None, "s" * 64, k=2)[1][0] == px
    assert nearest(db, q, "c", "s" * 64, filters=TextFilter(author="Bo")) == [(pb, pytest.approx(2 ** -0.5, abs=1e-6))]
    assert nearest(db, q, "c", "t" * 64) == [], "another embedder's vectors only"
    with pytest.raises(UserError, match="4 dimensions but these vectors have 3"):
        nearest(db, np.ones(4), "c", "s" * 64)


def test_nearest_keeps_the_best_k_across_chunks_with_ties_in_passage_order(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.corpus.vectors as vectors

    monkeypatch.setattr(vectors, "CHUNK", 7)  # many chunks from a few rows
    text = add_text(db, corpus_id(db, "c"), TextRecord(title="t", body=prose(200, "t")))
    ids = [p.id for p in passages_of(db, text)]
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((len(ids), 16)).astype(np.float32)
    matrix[5] = matrix[9] = matrix[2]  # a three-way tie
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    register_embedder(db, {"sha256": "s" * 64, "name": "test", "dim": 16})
    store_vectors(db, "s" * 64, ids, matrix)
    found = nearest(db, matrix[2], "c", "s" * 64, k=5)
    assert [pid for pid, _ in found[:3]] == [ids[2], ids[5], ids[9]]
    expected = np.argsort(-(matrix @ matrix[2]), kind="stable")[:5]
    assert [pid for pid, _ in found] == [ids[i] for i in expected]


def test_vectors_of_a_passage_replaced_meanwhile_are_dropped_not_misfiled(db: Database) -> None:
    text = add_text(db, corpus_id(db, "c"), TextRecord(title="t", body="Old words."))
    old = passages_of(db, text)[0].id
    replace_text(db, text, TextRecord(title="t", body="New words."))
    register_embedder(db, {"sha256": "s" * 64, "name": "test", "dim": 2})
    store_vectors(db, "s" * 64, [old], np.array([unit(1, 0)]))
    assert db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
