"""Passages: each text cut on sentence boundaries into overlapping spans with exact offsets, stored per text.

A passage is the unit that is embedded, retrieved and cited: [start, end) are character offsets into the text's
original body, so a citation opens at the spot. How a body is cut:
- Sentences end after a run of . ! ? (with any closing quotes or brackets) followed by a space or the end, right
  after 。！？； (closing quotes kept), and at a blank line. "3.14", "Mr. Smith", "J. R. R. Tolkien" are not cut.
- Size is counted in units: a character is one unit, a CJK character (app/scripts.UNSPACED) three, since one
  carries about as much as a short English word (and takes a token or more in an embedder's vocabulary).
- Sentences are packed in order until a passage reaches TARGET units, never past MAX (about 120 and 240 English
  words; 160 and 320 CJK characters, inside MiniLM's 256-token window for English, multilingual-e5's 512 for Chinese).
- Overlap: a passage begins with the last sentence of the one before, unless that sentence is longer than
  TARGET / 2 (then the boundary is a clean break already).
- A sentence longer than MAX (unpunctuated classical text, a run-on list) is cut by length into windows of about
  TARGET units, each starting OVERLAP units before the previous one ended, both ends moved to a space or comma
  when one is near, so words stay whole.
Passages are (re)built inside add_texts and replace_text (app/corpus/store.py), in the same transaction as the
index: every path that writes a text goes through them, so passages and bodies never disagree, and cutting costs
little beside indexing (see the README's measurements).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import numpy as np
from sqlite_utils import Database

from app.corpus.fold import TABLE_END
from app.corpus.shadow import CJK, char_kinds

TARGET = 480  # units a passage aims at
MAX = 960  # units a passage never exceeds
OVERLAP = 96  # units shared by consecutive windows of a sentence cut by length
CJK_WEIGHT = 3  # units per CJK character
# A full stop after these (and after an initial, J. R. R.) is not an end: "Mr. Smith" stays one sentence.
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Prof", "Jr", "Sr", "vs", "cf", "etc", r"e\.g", r"i\.e", "[A-Z]")
_SENTENCE_END = re.compile(
    # The lookahead names every character a sentence end can start with: the scan then tests one set at each
    # character instead of four alternatives (1.6x faster). The lookbehinds follow the stop they check.
    r"(?=[.!?。！？；\n])(?:"
    r"(?:\." + "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS) + "|[!?])"
    r"[.!?]*[\"'”’)\]»]*(?=\s|$)"  # Latin: a run of . ! ? and closing marks, then a space or the end
    r"|[。！？；]+[”’」』）》〉]*"  # CJK: right after the mark and any closing quote
    r"|\n[ \t\r]*\n"  # a blank line ends a paragraph, punctuated or not
    r")"
)
_BREAK = re.compile(r"[\s,，、:：]")  # where a window cut by length prefers to end
# str.isspace() of each code point up to U+3000, the last one it is true of; the last entry stands for all above.
_SPACE = np.array([chr(code).isspace() for code in range(0x3000)] + [True, False])


@dataclass(frozen=True)
class Passage:
    """One stored passage: its text's id, its place in the text, its offsets, and (when read with it) its text."""

    id: int
    text_id: int
    ordinal: int
    start: int
    end: int
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def cut(body: str) -> list[tuple[int, int]]:
    """The [start, end) spans of a body's passages, in order."""
    bounds = sentence_bounds(body)
    if not len(bounds):
        return []
    found = bounds.tolist()
    units = _units(body)
    # Units before each sentence's start and end, as Python ints: the loop below reads them once per sentence.
    us, ue = units[bounds[:, 0]].tolist(), units[bounds[:, 1]].tolist()
    spans: list[tuple[int, int]] = []
    first, fresh = None, 0  # the passage being built begins at sentence `first`; `fresh` of its sentences are new

    def overlap(last: int, upto: int) -> int | None:
        """The sentence the next passage starts with: the last one, if short, not alone, and fitting up to `upto`."""
        fits = ue[last] - us[last] <= TARGET // 2 and ue[upto] - us[last] <= MAX
        return last if first is not None and last > first and fits else None

    for j, (s, e) in enumerate(found):
        if ue[j] - us[j] > MAX:
            if fresh:
                spans.append((found[first][0], found[j - 1][1]))
            spans += _windows(body, units, s, e)
            first, fresh = None, 0
            continue
        if first is not None and ue[j] - us[first] > MAX:
            if fresh:
                spans.append((found[first][0], found[j - 1][1]))
            first, fresh = overlap(j - 1, j), 0
        first = j if first is None else first
        fresh += 1
        if ue[j] - us[first] >= TARGET:
            spans.append((found[first][0], e))
            first, fresh = overlap(j, j), 0
    if fresh:
        spans.append((found[first][0], found[-1][1]))
    return spans


def sentences(body: str) -> Iterator[tuple[int, int]]:
    """The [start, end) spans of a body's sentences, without surrounding whitespace; empty ones left out."""
    yield from (tuple(bounds) for bounds in sentence_bounds(body).tolist())


def sentence_bounds(body: str) -> np.ndarray:
    """The sentences of `sentences` as an int64 array of [start, end) rows, trimmed in numpy rather than by one
    str.strip a sentence (11,000 a megabyte)."""
    cuts = np.fromiter((m.end() for m in _SENTENCE_END.finditer(body)), dtype=np.int64)
    begins, ends = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(body)]))
    codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    solid = np.flatnonzero(~_SPACE[np.minimum(codes, len(_SPACE) - 1)])  # offsets of what str.strip keeps
    if not len(solid):
        return np.zeros((0, 2), dtype=np.int64)
    # The first kept offset at or after each begin, and the last one before each end.
    first = np.searchsorted(solid, begins)
    last = np.searchsorted(solid, ends) - 1
    starts, stops = solid[np.minimum(first, len(solid) - 1)], solid[np.maximum(last, 0)] + 1
    keep = first <= last
    return np.stack([starts[keep], stops[keep]], axis=1)


def _trimmed(body: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = body[start:end]
    kept = piece.strip()
    if kept:
        s = start + len(piece) - len(piece.lstrip())
        yield s, s + len(kept)


def _windows(body: str, units: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """A span longer than MAX cut by length: windows of about TARGET units overlapping by OVERLAP."""
    out = []
    while units[end] - units[start] > MAX:
        cut_at = int(np.searchsorted(units, units[start] + TARGET, side="right")) - 1
        breaks = [m.end() for m in _BREAK.finditer(body, start + (cut_at - start) * 3 // 4, cut_at)]
        stop = breaks[-1] if breaks else cut_at
        window = next(_trimmed(body, start, stop), (start, stop))
        out.append(window)
        back = max(int(np.searchsorted(units, units[stop] - OVERLAP, side="left")), start + 1)
        word = _BREAK.search(body, back, stop)  # the overlap starts on a word, where the text has words
        start = next(_trimmed(body, word.end() if word else back, end))[0]
    out.append((start, end))
    return out


def _units(body: str) -> np.ndarray:
    """Cumulative size units before each offset of `body` (len(body) + 1 values)."""
    codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    cjk = char_kinds().lookup(np.where(codes < TABLE_END, codes, 0)) == CJK
    # int32 holds the units of 700 million CJK characters: more than any one text.
    return np.concatenate(([0], np.cumsum(np.where(cjk, CJK_WEIGHT, 1), dtype=np.int32)))


# -- the passages table ----------------------------------------------------------------------
def build_passages(db: Database, text_id: int, body: str) -> int:
    """(Re)write the passages of one text, inside the caller's transaction; how many. Their vectors go with them."""
    db.execute("DELETE FROM passages WHERE text_id = ?", [text_id])
    return insert_passages(db, text_id, cut(body))


def insert_passages(db: Database, text_id: int, spans: list[tuple[int, int]]) -> int:
    """Store the passages `cut` gave for a text that has none, inside the caller's transaction; how many.

    A new text skips build_passages' DELETE, whose trigger opens passages_fts: with nothing to delete it cost 0.8 ms
    a text, a fifth of an import.
    """
    rows = [(text_id, i, s, e) for i, (s, e) in enumerate(spans)]
    db.conn.executemany('INSERT INTO passages (text_id, ordinal, start, "end") VALUES (?, ?, ?, ?)', rows)
    return len(rows)


def ensure_passages(db: Database, corpus: int | None = None) -> int:
    """Cut the texts of a corpus (or of all) that have no passages yet (imported before passages existed); how many."""
    where, params = ("AND texts.corpus_id = ?", [corpus]) if corpus is not None else ("", [])
    sql = f"""SELECT texts.id FROM texts WHERE texts.chars > 0 {where}
              AND NOT EXISTS (SELECT 1 FROM passages WHERE passages.text_id = texts.id) ORDER BY texts.id"""
    ids = [row[0] for row in db.execute(sql, params)]
    for at in range(0, len(ids), 200):  # a transaction per 200 texts: a stop loses little
        with db.atomic():
            for text_id in ids[at:at + 200]:
                body = db.execute("SELECT body FROM texts WHERE id = ?", [text_id]).fetchone()[0]
                build_passages(db, text_id, body)
    return len(ids)


_COLUMNS = 'passages.id, passages.text_id, passages.ordinal, passages.start, passages."end"'
_TEXT = 'substr(texts.body, passages.start + 1, passages."end" - passages.start)'


def passages_of(db: Database, text_id: int, with_text: bool = False) -> list[Passage]:
    """A text's passages in order."""
    return _read(db, "passages.text_id = ? ORDER BY passages.ordinal", [text_id], with_text)


def get_passages(db: Database, ids: list[int], with_text: bool = True) -> list[Passage]:
    """Passages by id, in the order given (unknown ids left out), their text cut from the body in SQL."""
    found = {p.id: p for p in _read(db, "passages.id IN (SELECT value FROM json_each(?))", [_json_ids(ids)], with_text)}
    return [found[i] for i in ids if i in found]


def passage_at(db: Database, text_id: int, offset: int) -> Passage | None:
    """The passage of a text that holds `offset` (the first one, where passages overlap); None past the last."""
    found = _read(db, 'passages.text_id = ? AND passages.start <= ? AND passages."end" > ? ORDER BY passages.ordinal LIMIT 1',
                  [text_id, offset, offset], with_text=False)
    return found[0] if found else None


def _read(db: Database, where: str, params: list[Any], with_text: bool) -> list[Passage]:
    text = f", {_TEXT}" if with_text else ""
    join = "JOIN texts ON texts.id = passages.text_id" if with_text else ""
    return [Passage(*row) for row in db.execute(f"SELECT {_COLUMNS}{text} FROM passages {join} WHERE {where}", params)]


def _json_ids(ids: list[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
