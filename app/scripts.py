"""The Unicode ranges of the CJK scripts, for the app: defined once in inference/scripts.py, which the engine uses too."""

from inference.scripts import CJK_PUNCT, HAN, HANGUL, KANA, UNSPACED

__all__ = ["CJK_PUNCT", "HAN", "HANGUL", "KANA", "UNSPACED"]
