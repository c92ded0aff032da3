"""Light and dark palettes that follow the system, and fonts with a CJK fallback so Chinese text renders."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

# Tried in order per character: a Latin face first, then CJK faces that desktops commonly ship.
TEXT_FAMILIES = [
    "Noto Serif", "DejaVu Serif", "Georgia", "Noto Serif CJK SC", "Noto Sans CJK SC", "Source Han Serif SC",
    "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "serif",
]
UI_FAMILIES = ["Noto Sans", "DejaVu Sans", "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"]

_DARK = {
    QPalette.ColorRole.Window: "#24272b", QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1c1e21", QPalette.ColorRole.AlternateBase: "#2a2d31",
    QPalette.ColorRole.Text: "#e8e6e3", QPalette.ColorRole.Button: "#2f3237",
    QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d6fb4",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2f3237",
    QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#8a8f98",
    QPalette.ColorRole.Link: "#7aa7e8",
}
_LIGHT = {
    QPalette.ColorRole.Window: "#f3f1ec", QPalette.ColorRole.WindowText: "#1f1f1f",
    QPalette.ColorRole.Base: "#fffdf8", QPalette.ColorRole.AlternateBase: "#f6f3ea",
    QPalette.ColorRole.Text: "#1f1f1f", QPalette.ColorRole.Button: "#ebe8e1",
    QPalette.ColorRole.ButtonText: "#1f1f1f", QPalette.ColorRole.Highlight: "#3d6fb4",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#fffdf8",
    QPalette.ColorRole.ToolTipText: "#1f1f1f", QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    QPalette.ColorRole.Link: "#2a5db0",
}


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark appearance."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(theme: str) -> str:
    """'light' or 'dark' for a setting of 'system', 'light' or 'dark'."""
    if theme in ("light", "dark"):
        return theme
    return "dark" if system_is_dark() else "light"


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply the palette for `theme` (following the system for 'system'); return 'light' or 'dark'."""
    name = resolve(theme)
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in (_DARK if name == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    app.setProperty("scriptoriumTheme", name)
    return name


def ui_font(size: float = 10) -> QFont:
    font = QFont()
    font.setFamilies(UI_FAMILIES)
    font.setPointSizeF(size)
    return font


def text_font(size: float = 12.5) -> QFont:
    """The editor's font: a serif for Latin text, falling back to CJK faces for Chinese and Japanese."""
    font = QFont()
    font.setFamilies(TEXT_FAMILIES)
    font.setPointSizeF(size)
    font.setStyleHint(QFont.StyleHint.Serif)
    return font


def is_dark(app: QApplication) -> bool:
    return app.property("scriptoriumTheme") == "dark"
