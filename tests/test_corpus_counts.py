"""Counting over many texts: token ids stay the same from text to text, and tallies merge without losing a count."""

from __future__ import annotations

from collections import Counter

import numpy as np

from app.corpus.counts import Grams, Tally, Vocabulary
from app.corpus.tokens import layout

TEXTS = ["the moon, the sea", "明月光，明月", "The sea and 明月", "moon moon moon"]


def test_a_token_has_one_id_in_every_text() -> None:
    vocabulary = Vocabulary()
    ids = [vocabulary.ids(layout(text)).tolist() for text in TEXTS]
    assert ids[0][0] == ids[0][2] == ids[2][0]  # the, the, The
    assert [vocabulary.texts[i] for i in ids[1]] == list("明月光明月")
    assert len(vocabulary) == len({t for text in TEXTS for t in layout(text).texts()})


def test_tallies_merged_often_count_as_one_merged_once() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 50, size=int(rng.integers(0, 40))) for _ in range(60)]
    often, once = Tally(compact_at=5), Tally()
    for keys in batches:
        often.add(keys)
        once.add(keys)
    a, b = often.totals(), once.totals()
    assert a.keys.tolist() == b.keys.tolist() and a.counts.tolist() == b.counts.tolist()
    assert a.texts.tolist() == b.texts.tolist()
    expected = Counter(k for keys in batches for k in keys.tolist())
    assert dict(zip(a.keys.tolist(), a.counts.tolist())) == expected
    assert a.count_of(np.array([3, 999])).tolist() == [expected[3], 0]


def test_packed_and_numbered_ngram_keys_name_their_ngrams() -> None:
    for n in (2, 3, 4):
        grams = Grams(Vocabulary(), n, "word")
        labels = Counter()
        for text in TEXTS:
            laid = layout(text)
            labels.update(grams.label(k) for k in grams.keys(grams.vocabulary.ids(laid), laid.breaks).tolist())
        if n == 2:
            assert labels == Counter({"明月": 3, "moon moon": 2, "the sea": 2, "月光": 1, "the moon": 1,
                                      "sea and": 1, "and 明": 1})
        assert sum(labels.values()) == sum(max(0, len(run) - n + 1) for t in TEXTS for run in layout(t).runs())
