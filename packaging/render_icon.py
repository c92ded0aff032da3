"""Render the SVG icon to a PNG with Qt's SVG renderer, offscreen: `python packaging/render_icon.py SVG PNG SIZE`."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a build machine has no display

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer


def render(svg: str, png: str, size: int) -> None:
    """Draw `svg` into a transparent size×size PNG; raise ValueError if Qt cannot read the SVG or write the PNG."""
    renderer = QSvgRenderer(svg)
    if not renderer.isValid():
        raise ValueError(f"Qt cannot read {svg} as SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(png, "PNG"):
        raise ValueError(f"Qt cannot write {png}")


if __name__ == "__main__":
    app = QGuiApplication(sys.argv[:1])
    render(sys.argv[1], sys.argv[2], int(sys.argv[3]))
