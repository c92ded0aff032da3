"""The Unicode ranges of the CJK scripts, named once: counting, diffing, language guesses, the corpus index and the
engine's loop detector use them (the app reads them through app/scripts.py).

Each constant is the inside of a regular-expression character class, to be written `f"[{HAN}{KANA}]"`.
"""

from __future__ import annotations

# Han: Extension A, the Unified Ideographs, compatibility ideographs, Extensions B-H with the compatibility
# supplement, and 々〆〇 (iteration mark, closing mark, ideographic zero), which stand in words like ideographs.
HAN = "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
# Hiragana, katakana, their phonetic extensions and half-width katakana.
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
# Hangul syllables and jamo. Korean is written with spaces between words, so it is not in UNSPACED:
# a Korean word counts and diffs as one word, as in Korean word processors.
HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
# Scripts written without spaces between words: there each character is a word and a token of its own.
UNSPACED = HAN + KANA
# Ideographic and full-width punctuation (not the full-width letters and digits, which are word characters).
CJK_PUNCT = "\u3000-\u3004\u3008-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
