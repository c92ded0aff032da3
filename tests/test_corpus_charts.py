"""The command line's dispersion chart: a PNG of where a term falls in each part, which says what it cannot show."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.corpus.charts import MAX_PARTS, NO_CJK_FONT, cjk_font, dispersion_png
from app.corpus.stats import Dispersion, Part

PNG = b"\x89PNG\r\n\x1a\n"


def _result(labels: list[str], term: str = "明月") -> Dispersion:
    parts = [Part(str(i), label, 1000, i % 3, (i % 3) * 1000.0, tuple(k / 4 for k in range(i % 3)))
             for i, label in enumerate(labels)]
    return Dispersion(term, "text", 1000 * len(parts), sum(p.count for p in parts), 0.25, parts)


def test_a_chart_of_chinese_parts_is_a_png_that_names_a_missing_cjk_font(tmp_path: Path) -> None:
    path = tmp_path / "dispersion.png"
    notes = dispersion_png(_result(["靜夜思", "關山月", "Moon"]), path)
    assert path.read_bytes().startswith(PNG)
    assert (NO_CJK_FONT in notes) == (cjk_font() is None)


def test_an_english_chart_needs_no_cjk_font(tmp_path: Path) -> None:
    assert dispersion_png(_result(["Harbour", "Garden"], term="moon"), tmp_path / "d.png") == []


def test_a_term_found_nowhere_still_draws(tmp_path: Path) -> None:
    result = Dispersion("zebra", "author", 10, 0, float("nan"), [Part("a", "A", 10, 0, 0.0, ())])
    dispersion_png(result, tmp_path / "d.png")
    assert (tmp_path / "d.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("extra", [1, 25])
def test_many_parts_are_cut_to_those_with_most_hits_and_the_chart_says_so(tmp_path: Path, extra: int) -> None:
    notes = dispersion_png(_result([f"Text {i}" for i in range(MAX_PARTS + extra)], term="moon"), tmp_path / "d.png")
    assert notes == [f"The {MAX_PARTS} of {MAX_PARTS + extra} texts with most hits are shown."]
