"""Searching corpora: CJK queries of any length, folding both ways, punctuation-free phrases, English syntax, filters, exact offsets."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.corpus import search as search_module
from app.corpus.records import TextRecord
from app.corpus.sample import texts as sample_texts
from app.corpus.search import MANUSCRIPT, find_all, search, sync_manuscript
from app.corpus.shadow import build_shadow
from app.corpus.store import TextFilter, add_text, corpus_id, fold_of, iter_texts, reindex
from app.errors import UserError
from app.store import create_document, open_db, open_memory_db, save_body, trash_document

POEM = "床前明月光，\n疑是地上霜。\n舉頭望明月，低頭思故鄉。"  # traditional 舉, 頭, 鄉
SIMPLIFIED = "我们说话，为人民服务。"
VARIANT = "牀下有書，峩峩高山。"  # variants of 床 and 峨
COMPAT = "\uf967可\uf967知"  # U+F967, the compatibility twin of 不
ENGLISH = "It is a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife."


@pytest.fixture
def db() -> Database:
    db = open_memory_db()
    tang, prose = corpus_id(db, "tang"), corpus_id(db, "prose")
    for title, body, author, date in (("Quiet night", POEM, "Li Bai", "0726"), ("Service", SIMPLIFIED, "Anon", "1944"),
                                      ("Variants", VARIANT, "Anon", "1100"), ("Compat", COMPAT, "Anon", "1200")):
        add_text(db, tang, TextRecord(title=title, body=body, author=author, date=date))
    add_text(db, prose, TextRecord(title="Pride", body=ENGLISH, author="Austen", date="1813", collection="novels"))
    add_text(db, prose, TextRecord(title="Wives", body="Wives and daughters; a wife, a truth.", author="Gaskell",
                                   date="1865", collection="novels"))
    return db


def _titles(db: Database, query: str, **kwargs) -> list[str]:
    return [hit.title for hit in search(db, query, **kwargs).hits]


def _folded(db: Database, text: str) -> str:
    return build_shadow(text, fold_of(db)).text


@pytest.mark.parametrize("query", ["月", "明月", "望明月"])
def test_one_two_and_three_character_queries(db: Database, query: str) -> None:
    page = search(db, query)
    assert [h.title for h in page.hits] == ["Quiet night"]
    hit = page.hits[0]
    assert POEM[hit.start:hit.end] == query
    assert hit.extra["snippet"].count("«") == 1 and f"«{query}»" in hit.extra["snippet"]


def test_simplified_query_finds_traditional_text_and_back(db: Database) -> None:
    hit = search(db, "举头").hits[0]
    assert (hit.title, POEM[hit.start:hit.end]) == ("Quiet night", "舉頭")
    assert _titles(db, "說話") == ["Service"]
    assert _titles(db, "為人民") == ["Service"]


def test_variants_fold_both_ways(db: Database) -> None:
    assert set(_titles(db, "牀")) == {"Quiet night", "Variants"}  # 牀 finds 床, and itself
    hit = search(db, "床下").hits[0]
    assert (hit.title, VARIANT[hit.start:hit.end]) == ("Variants", "牀下")
    assert _titles(db, "峨峨") == ["Variants"]


def test_phrase_matches_across_punctuation_and_line_break(db: Database) -> None:
    hit = search(db, "光疑是").hits[0]
    assert POEM[hit.start:hit.end] == "光，\n疑是"
    assert _titles(db, "床前明月光，疑是地上霜") == ["Quiet night"]


def test_compatibility_code_points_fold_to_the_unified_ideograph(db: Database) -> None:
    hit = search(db, "不可").hits[0]
    assert (hit.title, COMPAT[hit.start:hit.end]) == ("Compat", "\uf967可")
    assert _titles(db, "\uf967知") == ["Compat"]


def test_english_words_phrases_prefixes_and_booleans(db: Database) -> None:
    assert _titles(db, '"single man"') == ["Pride"]
    assert _titles(db, '"man single"') == []
    assert set(_titles(db, "TRUTH")) == {"Pride", "Wives"}
    assert set(_titles(db, "wi*")) == {"Pride", "Wives"}
    assert _titles(db, "truth NOT daughters") == ["Pride"]
    assert set(_titles(db, "fortune OR daughters", corpus="prose")) == {"Pride", "Wives"}
    assert _titles(db, "(fortune OR daughters) wives") == ["Wives"]
    hit = search(db, "acknowl*").hits[0]
    assert ENGLISH[hit.start:hit.end] == "acknowledged"


def test_metadata_filters_and_corpus(db: Database) -> None:
    assert _titles(db, "truth", filters=TextFilter(author="Gaskell")) == ["Wives"]
    assert _titles(db, "truth", filters=TextFilter(date_to="1850")) == ["Pride"]
    assert _titles(db, "truth", corpus="tang") == []
    assert _titles(db, "明月", filters=TextFilter(title="quiet")) == ["Quiet night"]
    with pytest.raises(UserError, match="No corpus named"):
        search(db, "truth", corpus="nope")


def test_offsets_map_back_exactly(db: Database) -> None:
    for query in ("明月", "光疑是", "地上霜舉頭", "\"a wife\"", "possession", "不"):
        hits = list(find_all(db, query))
        assert hits, query
        for hit in hits:
            body = next(iter_texts(db, filters=TextFilter(text_ids=(hit.text_id,)))).body
            assert _folded(db, body[hit.start:hit.end]) == _folded(db, query.strip("\""))


@pytest.mark.parametrize("query", ['"open', "(a", "NOT a", "a OR", "，"])
def test_malformed_query_is_a_user_error(db: Database, query: str) -> None:
    with pytest.raises(UserError):
        search(db, query)
    with pytest.raises(UserError):
        list(find_all(db, query))


def test_an_fts5_refusal_is_a_user_error(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser lets nothing through that FTS5 refuses; should it ever, the user gets a sentence, not sqlite3's error.
    monkeypatch.setattr(search_module.Phrase, "to_match", lambda self: "NOT (")
    with pytest.raises(UserError, match="cannot be run"):
        search(db, "x")


def test_hits_count_equals_a_plain_python_count() -> None:
    db = open_memory_db()
    cid = corpus_id(db, "sample")
    records = list(sample_texts(0.3, seed=7))
    for record in records:
        add_text(db, cid, record)
    shadows = [_folded(db, r.body) for r in records]
    common = Counter(token for shadow in shadows for token in shadow.split()).most_common(1)[0][0]
    pair = next(s for s in shadows if "\u4e00" <= s[0] <= "\u9fff")[:3]  # two CJK characters of the first Chinese text
    for query in (common, pair.replace(" ", ""), "the", '"of the"', "wh*"):
        phrase = re.escape(_folded(db, query.strip('"*'))) + (r"\S*" if query.endswith("*") else "")
        expected = sum(len(re.findall(rf"(?<!\S){phrase}(?!\S)", shadow)) for shadow in shadows)
        hits = list(find_all(db, query))
        assert len(hits) == expected > 0, query
        assert hits == sorted(hits, key=lambda h: (h.text_id, h.start)), query
    assert len(list(find_all(db, common, limit=25))) == 25


def test_search_pages_count_and_rank_only_when_selective(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    page = search(db, "a", limit=1)
    assert (page.total, len(page.hits), page.ranked) == (2, 1, True)
    assert search(db, "a", limit=1, offset=1).hits[0].title != page.hits[0].title
    monkeypatch.setattr(search_module, "RANK_LIMIT", 1)
    unranked = search(db, "a")
    assert (unranked.ranked, [h.title for h in unranked.hits]) == (False, ["Pride", "Wives"])


def test_manuscript_mirrors_documents_and_reindexes_only_changes() -> None:
    db = open_memory_db()
    first = create_document(db, "Draft", "The heron stood in the 河水.")
    second = create_document(db, "Notes", "A kingfisher.")
    assert sync_manuscript(db) == 2
    assert sync_manuscript(db) == 0
    assert _titles(db, "heron", corpus=MANUSCRIPT) == ["Draft"]
    assert _titles(db, "河", corpus=MANUSCRIPT) == ["Draft"]
    save_body(db, first.id, "The egret stood.")
    trash_document(db, second.id)
    assert sync_manuscript(db) == 2
    assert _titles(db, "heron") == [] and _titles(db, "egret") == ["Draft"]
    assert [t.source_path for t in iter_texts(db, MANUSCRIPT)] == [f"doc:{first.id}"]


def test_find_all_merges_the_phrases_of_a_query_and_honours_filters(db: Database) -> None:
    spans = [(h.title, POEM[h.start:h.end]) for h in find_all(db, "明月 OR 霜 OR 月")]
    assert spans == [("Quiet night", "明月"), ("Quiet night", "月"), ("Quiet night", "霜"),
                     ("Quiet night", "明月"), ("Quiet night", "月")]
    assert {h.title for h in find_all(db, "truth")} == {"Pride", "Wives"}
    assert {h.title for h in find_all(db, "truth", filters=TextFilter(author="Gaskell"))} == {"Wives"}
    assert {h.title for h in find_all(db, "truth NOT daughters")} == {"Pride"}
    assert {h.title for h in find_all(db, "wi* daughters")} == {"Wives"}
    assert [ENGLISH[h.start:h.end] for h in find_all(db, "wi*", corpus="prose") if h.title == "Pride"] == ["wife"]


def test_a_users_variant_table_applies_after_reindexing(home: Path) -> None:
    db = open_db(home)
    add_text(db, corpus_id(db, "c"), TextRecord(title="Ox", body="丒年"))
    assert _titles(db, "丑年") == []
    (home / "variants.tsv").write_text("丒\t丑\n", encoding="utf-8")
    assert reindex(db) == 1 and reindex(db) == 0
    assert _titles(db, "丑年") == ["Ox"]
