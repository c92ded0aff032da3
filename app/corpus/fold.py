"""Folding for search, one code point to one code point: variants and traditional forms to simplified, compatibility forms unified, Latin case and accents dropped.

Each code point folds on its own, through these steps in order:
  1. NFKC, when it gives a single code point: U+F967 -> 不, full-width Ａ -> A, half-width ｶ -> カ;
  2. the variant table, assets/corpus/variants.tsv and then <data directory>/variants.tsv: 牀 -> 床, 峩 -> 峨;
  3. OpenCC's t2s, character by character: 說 -> 说, 爲 -> 为;
  4. casefold (lower() where casefold gives more than one code point: ß stays ß);
  5. Latin accents removed: é -> e, ệ -> e.
A step whose result would be several code points (NFKC's ﬁ -> fi, ㍿ -> 株式会社) is skipped, so a folded text has
exactly the length of its original and offsets carry over unchanged. t2s runs without its phrase dictionary, so
context never changes a character's fold: 乾隆 folds to 干隆 as 乾 does alone, in the index and in the query alike.
OpenCC 1.4's character table is 1:1 already (no code point converts to two); step 3 checks it all the same.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np
import opencc

from app.corpus.codetable import CodeTable
from app.errors import UserError
from app.scripts import HAN

# The table covers every code point up to the end of CJK Extension H (U+323AF); those above fold to themselves.
TABLE_END = 0x32400
VARIANTS_NAME = "variants.tsv"
SHIPPED_VARIANTS = Path(__file__).resolve().parents[2] / "assets" / "corpus" / VARIANTS_NAME
# Bump when the steps above change: every stored shadow then names an old fold and is rebuilt.
FOLD_VERSION = 1
_HAN = re.compile(f"[{HAN}]")


class Fold:
    """A folding table, filled as texts meet code points (app/corpus/codetable.py), and the signature of what made
    it (a shadow made under another signature is stale)."""

    def __init__(self, variants: dict[str, str], signature: str) -> None:
        self.variants, self.signature = variants, signature
        self._t2s = opencc.OpenCC("t2s")
        self._table = CodeTable(self._fold, np.uint32, TABLE_END)  # code point -> its folded code point

    def codes(self, text: str) -> np.ndarray:
        """The folded code points of `text`, one per code point of it."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        inside = codes < TABLE_END
        return np.where(inside, self._table.lookup(np.where(inside, codes, 0)), codes)

    def text(self, text: str) -> str:
        """`text` folded: a string of the same length."""
        return self.codes(text).tobytes().decode("utf-32-le", "surrogatepass")

    def _fold(self, chars: list[str]) -> list[int]:
        """The folded code point of each character, through the steps above."""
        chars = [_single(unicodedata.normalize("NFKC", c), c) for c in chars]
        chars = _t2s(self._t2s, [self.variants.get(c, c) for c in chars])
        return [ord(_casefold(_strip_accent(_casefold(c)))) for c in chars]  # casefold again after: İ -> I -> i


def load_fold(home: Path | None = None) -> Fold:
    """The fold of a data directory: the shipped variants plus its own variants.tsv, if it has one."""
    user = Path(home) / VARIANTS_NAME if home else None
    stamp = user.stat().st_mtime_ns if user and user.is_file() else 0
    return _cached_fold(str(user) if stamp else "", stamp)


@functools.lru_cache(maxsize=4)
def _cached_fold(user_path: str, stamp: int) -> Fold:
    # `stamp` (the user file's mtime) is part of the key, so an edited variants.tsv is read again.
    variants = read_variants(SHIPPED_VARIANTS)
    if user_path:
        variants.update(read_variants(Path(user_path)))
    return Fold(variants, _signature(variants))


def read_variants(path: Path) -> dict[str, str]:
    """The pairs of a variants file (variant<TAB>standard, # comments); UserError naming the line of a bad one."""
    pairs = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or len(parts[0]) != 1 or len(parts[1]) != 1:
            raise UserError(
                f"{path}, line {number}: write one variant, a tab and its standard form, each a single character."
            )
        pairs[parts[0]] = parts[1]
    return pairs


def _t2s(converter: opencc.OpenCC, chars: list[str]) -> list[str]:
    """OpenCC's t2s applied to each Han character alone (a newline between them keeps its phrases out)."""
    han = [i for i, c in enumerate(chars) if _HAN.match(c)]
    if not han:
        return chars
    converted = converter.convert("\n".join(chars[i] for i in han)).split("\n")
    if len(converted) != len(han):
        raise RuntimeError("OpenCC t2s changed the number of lines; the fold cannot be built")
    out = list(chars)
    for i, c in zip(han, converted):
        out[i] = _single(c, chars[i])
    return out


def _single(folded: str, original: str) -> str:
    """`folded` when it is one code point, else `original`: folding never changes a text's length."""
    return folded if len(folded) == 1 else original


def _casefold(c: str) -> str:
    return _single(c.casefold(), _single(c.lower(), c))


def _strip_accent(c: str) -> str:
    """A Latin letter without its combining accents (é -> e); any other character unchanged."""
    parts = unicodedata.normalize("NFD", c)
    base = parts[0]
    latin = base < "\u0250" or "\u1e00" <= base <= "\u1eff"
    if len(parts) > 1 and latin and all(unicodedata.category(p) == "Mn" for p in parts[1:]):
        return base
    return c


def _signature(variants: dict[str, str]) -> str:
    pairs = "".join(f"{k}{v}" for k, v in sorted(variants.items()))
    data = f"{FOLD_VERSION}|{opencc.__version__}|{unicodedata.unidata_version}|{pairs}"
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]
