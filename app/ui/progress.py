"""One way to show a fraction on a progress bar: busy when it is unknown, thousandths when it is known."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


def show_fraction(bar: QProgressBar, fraction: float | None) -> None:
    """Set `bar` to `fraction` (0..1), or to Qt's busy indicator when the fraction is not known."""
    if fraction is None:
        bar.setRange(0, 0)
        return
    bar.setRange(0, 1000)
    bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
