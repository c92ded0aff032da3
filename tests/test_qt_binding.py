"""Guard against a Qt binding that corrupts the interpreter: PySide6 6.12.0 on Python 3.11 drops a
reference to None on every call of a method returning void, and the app dies with `none_dealloc`
after a few thousand keystrokes. pyproject pins a release without the bug; this test keeps it so."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer


def test_void_methods_keep_none_alive(qapp) -> None:
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(2000):
        timer.setInterval(5)
    assert sys.getrefcount(None) - before > -100
