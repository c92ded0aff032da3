"""Hybrid retrieval: fusion order on hand-built rankings, BM25 over passages with exact offsets, the fallbacks and their notes."""

from __future__ import annotations

import numpy as np
import pytest
from sqlite_utils import Database

from app.corpus.passage_index import coverage, ensure_indexed, question_query
from app.corpus.records import TextRecord
from app.corpus.retrieve import retrieve, rrf
from app.corpus.store import add_text, corpus_id, fold_of, replace_text
from app.corpus.vectors import QueryVector, register_embedder, store_vectors
from app.errors import UserError
from app.store import open_memory_db

MILL = "The mill by the river was built in 1820 by the Carter family. It ground corn for a century."
WINTER = "In winter the river froze, and the children skated from the bridge to the church."
LETTER = "The letter was signed by the mayor and sent to every house in the valley."
POEM = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"
SHA = "e" * 64


@pytest.fixture
def db() -> Database:
    db = open_memory_db()
    town, tang = corpus_id(db, "town"), corpus_id(db, "tang")
    for title, body in (("Mill", MILL), ("Winter", WINTER), ("Letter", LETTER)):
        add_text(db, town, TextRecord(title=title, body=body))
    add_text(db, tang, TextRecord(title="靜夜思", body=POEM))
    return db


def embed_by_hand(db: Database, vectors: dict[str, list[float]], sha: str = SHA, name: str = "hand") -> None:
    """Give each passage a vector by its text's title (every text here is one passage)."""
    register_embedder(db, {"sha256": sha, "name": name, "dim": 3})
    rows = db.execute("SELECT passages.id, texts.title FROM passages JOIN texts ON texts.id = passages.text_id").fetchall()
    rows = [(pid, title) for pid, title in rows if title in vectors]
    store_vectors(db, sha, [pid for pid, _ in rows], np.array([vectors[t] for _, t in rows], dtype=np.float32))


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_fusion_sums_reciprocal_ranks_so_agreement_beats_one_first_place() -> None:
    # 20 is second in both lists: 2/62 beats 10's and 30's single first places (1/61 each).
    fused = rrf([[10, 20], [30, 20]], k=60)
    assert [item for item, _ in fused] == [20, 10, 30]
    assert fused[0][1] == pytest.approx(2 / 62) and fused[1][1] == pytest.approx(1 / 61)


def test_fusion_order_on_a_hand_built_case_and_its_ties() -> None:
    fused = dict(rrf([[1, 2, 3], [3, 1, 4]], k=60))
    assert fused == pytest.approx({1: 1 / 61 + 1 / 62, 3: 1 / 63 + 1 / 61, 2: 1 / 62, 4: 1 / 63})
    assert [item for item, _ in rrf([[1, 2, 3], [3, 1, 4]])] == [1, 3, 2, 4]
    # Equal scores: the better rank in the first list (BM25's) goes first.
    assert [item for item, _ in rrf([[5, 6], [6, 5]])] == [5, 6]


def test_a_small_k_lets_one_first_place_win() -> None:
    # 20 is fourth in both lists. With k = 1 a first place (1/2) beats that (1/5 + 1/5); with k = 60 it does not.
    rankings = [[10, 7, 8, 20], [30, 5, 6, 20]]
    assert [item for item, _ in rrf(rankings, k=1)][:2] == [10, 30]
    assert [item for item, _ in rrf(rankings, k=60)][0] == 20


def test_bm25_finds_the_passage_with_exact_offsets(db: Database) -> None:
    found = retrieve(db, "Who built the mill?", "town", mode="bm25")
    best = found.passages[0]
    body = db.execute("SELECT body FROM texts WHERE id = ?", [best.text_id]).fetchone()[0]
    assert best.title == "Mill" and body[best.start : best.end] == best.text and "Carter family" in best.text
    assert best.bm25_rank == 1 and best.bm25 > 0


def test_a_question_is_its_content_words_stemmed_and_cjk_characters_with_their_pairs(db: Database) -> None:
    fold = fold_of(db)
    assert question_query("Who was leaving the houses?", fold) == '("leav"* OR "hous"*)'
    assert question_query("月光在哪里？", fold) == '("月" OR "月 光" OR "光" OR "光 在" OR "在" OR "里")'
    assert question_query("Who is it?", fold) is None
    assert retrieve(db, "Who is it?", "town", mode="bm25").passages == []


def test_chinese_questions_in_simplified_find_traditional_text(db: Database) -> None:
    found = retrieve(db, "抬头望明月的诗", "tang", mode="bm25")
    assert found.passages and found.passages[0].title == "靜夜思"


def test_hybrid_without_embeddings_falls_back_to_bm25_and_says_so(db: Database) -> None:
    found = retrieve(db, "Who built the mill?", "town", mode="hybrid")
    assert found.mode == "bm25" and found.asked == "hybrid" and "No embeddings" in found.note
    assert found.passages[0].title == "Mill"
    with pytest.raises(UserError, match="No embeddings"):
        retrieve(db, "Who built the mill?", "town", mode="vector")


def test_hybrid_fuses_both_rankings(db: Database) -> None:
    embed_by_hand(db, {"Mill": [1, 0, 0], "Winter": [0, 1, 0], "Letter": [0, 0, 1]})
    query = QueryVector(unit(0, 1, 0.2), "hand", SHA)  # its meaning is the winter passage, its words none
    vector = retrieve(db, "Who skated on the frozen water?", "town", mode="vector", query_vector=query)
    assert [p.title for p in vector.passages] == ["Winter", "Letter", "Mill"] and vector.passages[0].cosine > 0.9
    hybrid = retrieve(db, "Who signed the letter?", "town", mode="hybrid", query_vector=QueryVector(unit(0, 1, 0.2), "hand", SHA))
    # BM25 finds only Letter, vectors rank Winter first: Letter is in both lists and wins.
    assert hybrid.mode == "hybrid" and [p.title for p in hybrid.passages][:2] == ["Letter", "Winter"]
    letter = hybrid.passages[0]
    assert letter.bm25_rank == 1 and letter.vector_rank == 2 and letter.score == pytest.approx(1 / 61 + 1 / 62)


def test_vectors_covering_part_of_a_corpus_are_said_to(db: Database) -> None:
    embed_by_hand(db, {"Mill": [1, 0, 0]})
    found = retrieve(db, "Who built the mill?", "town", query_vector=QueryVector(unit(1, 0, 0), "hand", SHA))
    assert found.mode == "hybrid" and "Only 1 of 3 passages" in found.note


def test_an_english_only_embedder_is_not_fused_for_a_chinese_question(db: Database) -> None:
    embed_by_hand(db, {"靜夜思": [1, 0, 0]}, name="all-minilm-l6-v2")
    query = QueryVector(unit(1, 0, 0), "all-minilm-l6-v2", SHA)
    found = retrieve(db, "明月", "tang", query_vector=query)
    assert found.mode == "bm25" and "reads English only" in found.note
    assert retrieve(db, "明月", "tang", mode="vector", query_vector=query).mode == "vector"


def test_the_passage_index_follows_a_text_cut_again(db: Database) -> None:
    retrieve(db, "mill", "town", mode="bm25")
    mill = db.execute("SELECT id FROM texts WHERE title = 'Mill'").fetchone()[0]
    replace_text(db, mill, TextRecord(title="Mill", body="The bakery on the square sold rye bread."))
    assert db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'mill'").fetchone()[0] == 0
    found = retrieve(db, "Where was rye bread sold?", "town", mode="bm25")
    assert found.passages[0].title == "Mill" and "bakery" in found.passages[0].text
    assert ensure_indexed(db) == 0  # nothing left to index


def test_coverage_weighs_unseen_words_most(db: Database) -> None:
    ensure_indexed(db)
    mill = retrieve(db, "Who built the mill?", "town", mode="bm25").passages[0].passage_id
    assert coverage(db, "Who built the mill?", [mill]).share == pytest.approx(1.0)
    partly = coverage(db, "Did the mill have a telescope?", [mill])
    assert 0 < partly.share < 0.5 and not partly.pair
    poem = retrieve(db, "明月", "tang", mode="bm25").passages[0].passage_id
    assert coverage(db, "诗人望着明月想什么", [poem]).pair
