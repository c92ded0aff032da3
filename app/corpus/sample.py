"""A seeded, generated corpus for benchmarks and tests: mixed Chinese and English texts with Zipf-distributed characters and words.

Chinese texts draw 4,000 characters of the Unified Ideographs block (simplified and traditional forms alike, in a
seeded order) with Zipf-Mandelbrot weights 1/(rank + 2.7)^1.05, in clauses of 4 to 14 characters ended by ， 。 ；
or a line break; English texts draw the words of the shipped public-domain sample, ranked by their frequency
there, with the same weights, in sentences with commas. The offset 2.7 flattens the head as real text does: the
commonest character is 4.5% of all (的 is about 4% of modern Chinese), where plain Zipf would make it 13.6%. Lengths are
log-normal (median about 3,000 characters); 70% of texts are Chinese. The same seed gives the same corpus.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from sqlite_utils import Database

from app.corpus.records import TextRecord
from app.corpus.store import add_text, corpus_id
from app.store.db import open_db

ENGLISH_SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "public-domain-english.txt"
HAN_ALPHABET = 4000
CHINESE_SHARE = 0.7
ZIPF_S, ZIPF_Q = 1.05, 2.7  # exponent and Mandelbrot offset of the rank-frequency law
CLAUSE_ENDS = ("，", "，", "，", "。", "；", "\n")
AUTHORS = tuple(f"Author {i}" for i in range(40))
COLLECTIONS = ("Poems", "Letters", "Essays", "Annals", "Sutras", "Novels", "Notes", "Plays")


@dataclass(frozen=True)
class SampleReport:
    """What `generate` made and how long it took."""

    corpus: str
    texts: int
    megabytes: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def generate(target: Path | str | Database, megabytes: float, seed: int = 0, corpus: str = "sample") -> SampleReport:
    """Add about `megabytes` of UTF-8 text to `corpus` in a database (or the data directory `target`)."""
    db = target if isinstance(target, Database) else open_db(Path(target))
    cid = corpus_id(db, corpus)
    began, count, total = time.perf_counter(), 0, 0
    with db.atomic():
        for record in texts(megabytes, seed):
            add_text(db, cid, record)
            count, total = count + 1, total + len(record.body.encode("utf-8"))
    return SampleReport(corpus, count, round(total / 1e6, 2), round(time.perf_counter() - began, 2))


def texts(megabytes: float, seed: int = 0) -> Iterator[TextRecord]:
    """The generated texts, until about `megabytes` of UTF-8 have been produced."""
    rng = np.random.default_rng(seed)
    han, words = _han_alphabet(rng), _english_words()
    han_p, word_p = zipf_weights(len(han)), zipf_weights(len(words))
    produced, n = 0, 0
    while produced < megabytes * 1e6:
        chinese = rng.random() < CHINESE_SHARE
        length = int(np.clip(rng.lognormal(np.log(3000), 0.9), 50, 200_000))
        body = _chinese(rng, han, han_p, length) if chinese else _english(rng, words, word_p, length)
        n += 1
        produced += len(body.encode("utf-8"))
        yield TextRecord(
            title=f"Text {n}", body=body, author=AUTHORS[int(rng.integers(len(AUTHORS)))],
            collection=COLLECTIONS[int(rng.integers(len(COLLECTIONS)))], date=str(int(rng.integers(1600, 1950))),
            source_path=f"sample:{seed}:{n}", format="txt",
        )


def zipf_weights(n: int) -> np.ndarray:
    """Probabilities of ranks 1..n under the Zipf-Mandelbrot law 1/(rank + ZIPF_Q)^ZIPF_S."""
    weights = 1.0 / (np.arange(1, n + 1) + ZIPF_Q) ** ZIPF_S
    return weights / weights.sum()


def _han_alphabet(rng: np.random.Generator) -> np.ndarray:
    """HAN_ALPHABET distinct characters of the Unified Ideographs block, in a seeded order (rank 1 first)."""
    return rng.choice(np.arange(0x4E00, 0x9FA6), size=HAN_ALPHABET, replace=False).astype(np.uint32)


def _english_words() -> list[str]:
    """The words of the shipped English sample, most frequent first."""
    counts = Counter(re.findall(r"[a-z]+", ENGLISH_SAMPLE.read_text(encoding="utf-8").lower()))
    return [word for word, _ in counts.most_common()]


def _chinese(rng: np.random.Generator, han: np.ndarray, p: np.ndarray, length: int) -> str:
    codes = han[rng.choice(len(han), size=length, p=p)]
    pieces, at = [], 0
    while at < length:
        size = int(rng.integers(4, 15))
        pieces.append(codes[at:at + size].tobytes().decode("utf-32-le"))
        pieces.append(CLAUSE_ENDS[int(rng.integers(len(CLAUSE_ENDS)))])
        at += size
    return "".join(pieces)


def _english(rng: np.random.Generator, words: list[str], p: np.ndarray, length: int) -> str:
    count = max(1, length // 6)  # about six characters a word with its space
    chosen = rng.choice(len(words), size=count, p=p)
    sentences, at = [], 0
    while at < count:
        size = int(rng.integers(6, 20))
        sentence = " ".join(words[i] for i in chosen[at:at + size])
        sentences.append(sentence[:1].upper() + sentence[1:] + ("," if rng.random() < 0.3 else "."))
        at += size
    return " ".join(sentences)
