"""Charts for the command line, drawn with matplotlib's Agg canvas: where a term falls in each part, and how often.

No pyplot and no global backend: a Figure on its own canvas, so importing this next to Qt changes nothing. CJK labels
need a CJK font; Noto Sans CJK (or Source Han Sans) is used when installed, and the chart says so when none is.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from app.scripts import CJK_PUNCT, HANGUL, UNSPACED

if TYPE_CHECKING:
    from app.corpus.stats import Dispersion, Part

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC", "Source Han Sans SC",
             "Source Han Sans", "WenQuanYi Zen Hei")
NO_CJK_FONT = "No CJK font found (install Noto Sans CJK, Debian: fonts-noto-cjk): CJK labels may show as boxes."
MAX_PARTS = 40  # rows past this are unreadable at any size; the chart keeps the parts with most hits and says so
_CJK = re.compile(f"[{UNSPACED}{HANGUL}{CJK_PUNCT}]")


_CJK_FILES = re.compile(r"NotoSans(CJK|SC)|SourceHanSans|wqy-zenhei", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK font family of CJK_FONTS, or None."""
    found = _first_cjk_font()
    if found is None:
        # matplotlib's font list is cached on its first run: a CJK font installed since is on disk but not in it.
        for path in font_manager.findSystemFonts():
            if _CJK_FILES.search(Path(path).name):
                font_manager.fontManager.addfont(path)
        found = _first_cjk_font()
    return found


def _first_cjk_font() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def dispersion_png(result: Dispersion, path: str | Path) -> list[str]:
    """Draw a dispersion result as a PNG: per part a barcode of the hits' positions and a bar of the rate.

    Returns the notes printed under the chart (parts left out, a missing CJK font), for the caller to show too.
    """
    most = sorted(range(len(result.parts)), key=lambda i: -result.parts[i].count)[:MAX_PARTS]
    parts = [result.parts[i] for i in sorted(most)]  # in the result's order
    notes = _notes(result, len(parts), [result.term, *(p.label for p in parts)])
    # Latin glyphs from matplotlib's own font, CJK ones from the CJK font (matplotlib falls back glyph by glyph).
    family = ["DejaVu Sans", *filter(None, [cjk_font()])]
    with matplotlib.rc_context({"font.family": family}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph .* missing from font")  # said once, in the chart's note
        _dispersion_figure(result, parts, notes).savefig(Path(path), format="png", dpi=120)
    return notes


def _dispersion_figure(result: Dispersion, parts: list[Part], notes: list[str]) -> Figure:
    labels = [p.label for p in parts]
    figure = Figure(figsize=(10, 1.6 + 0.32 * max(len(parts), 1)), layout="constrained")
    FigureCanvasAgg(figure)
    plot, rates = figure.subplots(1, 2, sharey=True, width_ratios=(3, 1))
    rows = list(range(len(parts)))[::-1]  # the first part on top
    plot.eventplot([p.positions for p in parts], lineoffsets=rows, linelengths=0.7, colors="#1f4e79")
    plot.set(xlim=(0, 1), xlabel=f"position in the {result.by}", yticks=rows, yticklabels=labels)
    rates.barh(rows, [p.per_million for p in parts], color="#7fa7cf")
    rates.set(xlabel="per million tokens", xlim=(0, 1.2 * max([p.per_million for p in parts] + [1])))
    rates.xaxis.set_major_locator(MaxNLocator(3))
    rates.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    for row, part in zip(rows, parts):
        rates.annotate(f" {part.count}", (part.per_million, row), va="center", fontsize=8)
    dp = "n/a" if math.isnan(result.dp) else f"{result.dp:.3f}"  # NaN when the term never occurs
    figure.suptitle(f"“{result.term}”: {result.count:,} hits in {result.tokens:,} tokens, DP = {dp} (Gries 2008)")
    if notes:
        figure.supxlabel("\n".join(notes), fontsize=8, ha="left", x=0.01)
    return figure


def _notes(result: Dispersion, shown: int, texts: list[str]) -> list[str]:
    """What a reader of the chart must be told: parts left out, a missing CJK font."""
    notes = []
    if shown < len(result.parts):
        notes.append(f"The {shown} of {len(result.parts)} {result.by}s with most hits are shown.")
    if cjk_font() is None and any(_CJK.search(t) for t in texts):
        notes.append(NO_CJK_FONT)
    return notes
