"""A table of one value per code point, each computed the first time a text holds that code point.

The per-code-point tables of folding and of character kinds cover 205,824 code points; computing them whole in
Python took 1-2 s at every start of a process (the fold's alone was a quarter of a 10 MB import), while a corpus
meets a few thousand code points. A value depends on its code point only, so a table filled in any order, by
any number of threads, holds what the whole one would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class CodeTable:
    """Values of code points 0 .. size-1, computed in batches by `compute` (characters -> values) when first asked."""

    def __init__(self, compute: Callable[[list[str]], list[int]], dtype: type, size: int) -> None:
        self._compute = compute
        self._values = np.zeros(size, dtype=dtype)
        self._known = np.zeros(size, dtype=bool)
        self._lock = threading.Lock()  # a batch is computed once; `compute` need not be thread-safe

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The values of an array of code points, each below the table's size."""
        known = self._known[codes]
        if not known.all():
            self._fill(np.unique(codes[~known]))
        return self._values[codes]

    def value(self, code: int) -> int:
        """The value of one code point below the table's size."""
        if not self._known[code]:
            self._fill(np.array([code]))
        return int(self._values[code])

    def _fill(self, codes: np.ndarray) -> None:
        with self._lock:
            codes = codes[~self._known[codes]]  # another thread may have filled some meanwhile
            if len(codes):
                self._values[codes] = self._compute([chr(code) for code in codes.tolist()])
                self._known[codes] = True  # after the values: a reader that sees known sees the value
