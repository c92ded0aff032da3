"""The assistant panel: a button per writing task, the options, the streaming preview and its actions."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton,
    QStackedWidget, QTextBrowser, QVBoxLayout, QWidget,
)

from app.desk.prefs import LANGUAGES, TASK_LABELS
from app.desk.review import Review, parse_link
from app.desk.suggestion import Phase
from app.desk.task_marks import TaskMark
from inference.tasks import BRAINSTORM_KINDS, REWRITE_STYLES, TASKS

WEAK_MARK = " ⚠"  # after a task's label when the bench found it weak for this model


class AssistantPanel(QWidget):
    """Asks through signals; shows what it is told. The window's controller does the work."""

    taskRequested = Signal(str)
    stopRequested = Signal()
    acceptRequested = Signal()
    retryRequested = Signal()
    discardRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.task_buttons: dict[str, QPushButton] = {}
        self.instruction = QLineEdit(placeholderText="Instruction (for Ask), or leave empty")
        self.style = QComboBox()
        self.style.addItems(list(REWRITE_STYLES))
        self.kind = QComboBox()
        self.kind.addItems(list(BRAINSTORM_KINDS))
        self.language = QComboBox()
        self.language.addItems(list(LANGUAGES))
        self.language.setEditable(True)
        self.status = QLabel("Select text or place the cursor, then choose a task.")
        self.status.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.preview = QPlainTextEdit(readOnly=True, placeholderText="The suggestion appears here as it is written.")
        self.preview.setObjectName("preview")
        self.review_view = QTextBrowser(openLinks=False, openExternalLinks=False)
        self.review_view.anchorClicked.connect(lambda url: self._hunk_link(url.toString()))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.preview)
        self.stack.addWidget(self.review_view)
        self.review: Review | None = None
        self.buttons = {name: QPushButton(label) for name, label in
                        (("stop", "Stop"), ("accept", "Accept"), ("retry", "Retry"), ("discard", "Discard"),
                         ("accept_all", "Accept all"), ("reject_all", "Reject all"))}
        self._build()
        self.set_phase(Phase.IDLE)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        for i, task in enumerate(TASKS):
            button = QPushButton(TASK_LABELS.get(task, task.title()))
            button.setObjectName(f"task-{task}")
            button.clicked.connect(self._task_clicked)
            grid.addWidget(button, i // 2, i % 2)
            self.task_buttons[task] = button
        self.task_tips = {"continue": "Continue the text at the cursor (Ctrl+Enter)"}
        self.task_buttons["continue"].setToolTip(self.task_tips["continue"])
        layout.addLayout(grid)
        form = QFormLayout()
        form.addRow("Rewrite style", self.style)
        form.addRow("Brainstorm", self.kind)
        form.addRow("Translate into", self.language)
        form.addRow("Instruction", self.instruction)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.busy)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        for name in ("stop", "accept", "retry", "discard"):
            row.addWidget(self.buttons[name])
        layout.addLayout(row)
        review_row = QHBoxLayout()
        review_row.addWidget(self.buttons["accept_all"])
        review_row.addWidget(self.buttons["reject_all"])
        layout.addLayout(review_row)
        self.buttons["stop"].clicked.connect(self.stopRequested)
        self.buttons["accept"].clicked.connect(self.acceptRequested)
        self.buttons["retry"].clicked.connect(self.retryRequested)
        self.buttons["discard"].clicked.connect(self.discardRequested)
        self.buttons["accept_all"].clicked.connect(lambda: self._decide_all(True))
        self.buttons["reject_all"].clicked.connect(lambda: self._decide_all(False))
        self.buttons["stop"].setToolTip("Stop the generation (Esc)")
        self.buttons["accept"].setToolTip("Accept the suggestion (Ctrl+Shift+Enter)")

    def set_task_marks(self, marks: dict[str, TaskMark]) -> None:
        """Mark the tasks measured weak for the loaded model (a sign after the label, the measurement as tooltip)."""
        for task, button in self.task_buttons.items():
            mark = marks.get(task)
            button.setText(TASK_LABELS.get(task, task.title()) + (WEAK_MARK if mark else ""))
            button.setToolTip("\n".join(t for t in (self.task_tips.get(task, ""), mark.sentence if mark else "") if t))
            button.setProperty("weak", mark is not None)

    def _task_clicked(self) -> None:
        button = self.sender()
        task = next((t for t, b in self.task_buttons.items() if b is button), None)
        if task is not None:
            self.taskRequested.emit(task)

    def options(self, task: str) -> dict:
        """The instruction and language for a task, from the panel's fields."""
        instruction = self.instruction.text().strip()
        if task == "rewrite":
            instruction = self.style.currentText()
        elif task == "brainstorm":
            instruction = self.kind.currentText()
        return {"instruction": instruction, "language": self.language.currentText().strip() or "French"}

    def set_phase(self, phase: Phase, can_accept: bool = False, message: str = "") -> None:
        """Enable what makes sense in this phase of the suggestion."""
        running = phase is Phase.RUNNING
        self.buttons["stop"].setEnabled(running)
        self.buttons["accept"].setEnabled(can_accept)
        self.buttons["retry"].setEnabled(phase in (Phase.READY, Phase.STOPPED, Phase.FAILED))
        self.buttons["discard"].setEnabled(phase is not Phase.IDLE)
        reviewing = self.review is not None and not running
        self.buttons["accept_all"].setVisible(reviewing)
        self.buttons["reject_all"].setVisible(reviewing)
        self.busy.setVisible(running)
        if message:
            self.status.setText(message)

    def start_stream(self, label: str) -> None:
        self.review = None
        self.stack.setCurrentWidget(self.preview)
        self.preview.clear()
        self.status.setText(label)

    def append(self, text: str) -> None:
        """Add streamed text at the end of the preview without disturbing a reader's scroll position much."""
        bar = self.preview.verticalScrollBar()
        following = bar.value() == bar.maximum()
        cursor = QTextCursor(self.preview.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if following:
            bar.setValue(bar.maximum())

    def set_text(self, text: str) -> None:
        if self.preview.toPlainText() != text:
            self.preview.setPlainText(text)

    def show_review(self, review: Review) -> None:
        """Show a rewrite as tracked changes against the selection."""
        self.review = review
        self.stack.setCurrentWidget(self.review_view)
        self._render_review()

    def clear(self) -> None:
        self.review = None
        self.preview.clear()
        self.stack.setCurrentWidget(self.preview)

    def decide(self, index: int, accepted: bool) -> None:
        """Accept or reject one hunk of the review."""
        if self.review is not None:
            self.review.decide(index, accepted)
            self._render_review()

    def _decide_all(self, accepted: bool) -> None:
        if self.review is not None:
            self.review.decide_all(accepted)
            self._render_review()

    def _hunk_link(self, href: str) -> None:
        parsed = parse_link(href)
        if parsed is not None:
            self.decide(*parsed)

    def _render_review(self) -> None:
        assert self.review is not None
        bar = self.review_view.verticalScrollBar().value()
        self.review_view.setHtml(self.review.to_html())
        self.review_view.verticalScrollBar().setValue(bar)
        self.status.setText(self.review.summary())
