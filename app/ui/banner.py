"""A strip across the top of the window: a message and, when there is something to do, a button."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class Banner(QFrame):
    """Says what went wrong and offers the fix (restart the worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.setStyleSheet("#banner { background: #f6d6a8; color: #3b2a10; border-bottom: 1px solid #d9a650; }"
                           "#banner QLabel { color: #3b2a10; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton()
        self._on_action: Callable[[], None] | None = None
        self.button.clicked.connect(self._act)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, action: str = "", on_action: Callable[[], None] | None = None) -> None:
        """Show `text`, with a button labelled `action` that calls `on_action`."""
        self._on_action = on_action
        self.label.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.show()

    def _act(self) -> None:
        self.hide()
        if self._on_action is not None:
            self._on_action()
