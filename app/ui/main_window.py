"""The main window: documents on the left, the editor in the middle, the assistant on the right."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLocale, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QProgressBar, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.desk import prefs
from app.desk.counting import Counter, count_delay_ms
from app.desk.status import device_label, generation_summary
from app.desk.workspace import Workspace
from app.grammar import DIALECTS
from app.ui.assistant_controller import AssistantController
from app.ui.assistant_panel import AssistantPanel
from app.ui.banner import Banner
from app.ui.document_controller import DocumentController
from app.ui.editor import Editor
from app.ui.encryption_controller import EncryptionController
from app.ui.find_bar import FindBar
from app.ui.grammar_controller import GrammarController
from app.ui.progress import show_fraction
from app.ui.sidebar import DocumentSidebar
from app.ui.story_controller import StoryController
from app.ui.story_notes import StoryNotesPanel
from app.ui.theme import apply_theme, is_dark, ui_font
from app.worker_client import ProcessTransport, QtWorkerClient, TransportFactory
from inference.client import DEFAULT_BACKEND
from inference.paths import private_file
from inference.protocol import Done, Error, Progress

log = logging.getLogger(__name__)


def window_settings(home: Path) -> QSettings:
    """Window state kept beside the data it shows, so each data directory (and each test) has its own; private (0600),
    a mode Qt keeps when it rewrites the file."""
    return QSettings(str(private_file(Path(home) / "window.ini")), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """Composes the widgets and the two controllers (documents, assistant); owns no SQL and no prompts."""

    def __init__(self, home: Path, backend: str = DEFAULT_BACKEND, worker_env: dict[str, str] | None = None, start_worker: bool = True,
                 transport: TransportFactory = ProcessTransport) -> None:
        super().__init__()
        self.home = Path(home)
        self.settings = window_settings(self.home)
        self.setFont(ui_font())
        self.editor = Editor(dark=is_dark(QApplication.instance()))  # type: ignore[arg-type]
        self.sidebar = DocumentSidebar()
        self.panel = AssistantPanel()
        self.story_panel = StoryNotesPanel()
        self.find_bar = FindBar(self.editor)
        self.find_bar.hide()
        self.banner = Banner()
        self.worker = QtWorkerClient(self.home, backend, worker_env, self, transport=transport)
        self.workspace = Workspace(self.home)
        self.documents = DocumentController(self.workspace, self.editor, self.sidebar, self)
        self.assistant = AssistantController(self.worker, self.panel, self.editor, self.workspace, self.documents.loaded)
        self.story = StoryController(self.story_panel, self.workspace, self.documents)
        self.grammar = GrammarController(self.editor, self.workspace, QLocale.system().name(), is_dark(QApplication.instance()), self)  # type: ignore[arg-type]
        self.encryption = EncryptionController(self.home, self.workspace, self.documents, self.worker, self)
        self.n_ctx: int | None = None
        self.load_request: str | None = None
        self.corpus_view = None  # the Corpus view, made on first use
        self._build_layout()
        self._build_status()
        self._build_menus()
        self._connect()
        self._restore()
        if start_worker:
            self.worker.start()

    # -- building ----------------------------------------------------------------------------
    def _build_layout(self) -> None:
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.editor, 1)
        column.addWidget(self.find_bar)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        self.side_tabs = QTabWidget()  # the assistant, and beside it the story notes it reads
        self.side_tabs.addTab(self.panel, "Assistant")
        self.side_tabs.addTab(self.story_panel, "Story notes")
        for w in (self.sidebar, middle, self.side_tabs):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 640, 340])
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.banner)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.resize(1280, 800)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.model_label, self.device_label, self.speed_label, self.count_label = QLabel("Starting…"), QLabel(), QLabel(), QLabel()
        self.load_bar = QProgressBar(maximumWidth=180, textVisible=False)
        self.load_bar.hide()
        for w in (self.model_label, self.device_label, self.load_bar, self.speed_label):
            bar.addWidget(w)
        self.check_label = QLabel()
        bar.addPermanentWidget(self.check_label)
        bar.addPermanentWidget(self.count_label)
        self.count_timer = QTimer(self, singleShot=True)
        self.counters = {False: Counter(), True: Counter()}  # the whole text, a selection: each keeps its paragraphs
        self.count_timer.timeout.connect(self._recount)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        self._action(file, "&New document", self.documents.new, QKeySequence.StandardKey.New)
        self._action(file, "&Save revision", lambda: self.documents.save("save"), QKeySequence.StandardKey.Save)
        self._action(file, "&Import…", lambda: self.documents.import_files(), "Ctrl+I")
        self._action(file, "&Export…", lambda: self.documents.export(), "Ctrl+E")
        self._action(file, "&Revisions…", self.show_revisions, "Ctrl+H")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = menu.addMenu("&Edit")
        self._action(edit, "&Find and replace…", self.find_bar.open_bar, QKeySequence.StandardKey.Find)
        self._action(edit, "Search the &manuscript…", self.search_manuscript, "Ctrl+Shift+F")
        view = menu.addMenu("&View")
        self._action(view, "Zoom &in", lambda: self._zoom(1), QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &out", lambda: self._zoom(-1), QKeySequence.StandardKey.ZoomOut)
        self._action(view, "&Reset zoom", lambda: self._zoom(0), "Ctrl+0")
        themes = QActionGroup(self)
        theme_menu = view.addMenu("&Theme")
        current = self.settings.value(prefs.THEME, "system")
        for name in prefs.THEMES:
            act = self._action(theme_menu, name.title(), lambda _=False, n=name: self.set_theme(n))
            act.setCheckable(True)
            act.setChecked(name == current)
            themes.addAction(act)
        view.addSeparator()
        self.check_action = self._action(view, "Check &spelling and grammar", self.set_checking, "F7")
        self.check_action.setCheckable(True)
        dialects, self.dialect_actions = QActionGroup(self), {}
        dialect_menu = view.addMenu("&Dialect")
        for name in DIALECTS:
            act = self._action(dialect_menu, f"English ({name})", lambda _=False, n=name: self.grammar.set_dialect(n))
            act.setCheckable(True)
            dialects.addAction(act)
            self.dialect_actions[name] = act
        assist = menu.addMenu("&Assistant")
        self._action(assist, "&Continue", lambda: self.assistant.run("continue"), "Ctrl+Return")
        self._action(assist, "&Accept", self.assistant.accept, "Ctrl+Shift+Return")
        self._action(assist, "&Stop", self._escape, Qt.Key.Key_Escape)
        self._action(assist, "&Restart the worker", self.restart_worker)
        tools = menu.addMenu("&Tools")
        self._action(tools, "&Corpus…", self.show_corpus, "Ctrl+Shift+K")
        self._action(tools, "&Models…", self.show_models)
        self._action(tools, "&Settings…", self.show_settings)
        QShortcut(QKeySequence("Ctrl+Enter"), self, lambda: self.assistant.run("continue"))
        QShortcut(QKeySequence("Ctrl+Shift+Enter"), self, self.assistant.accept)

    def _escape(self) -> None:
        """Esc closes the find bar when it has the focus, and otherwise stops the suggestion."""
        if self.find_bar.isVisible() and self.find_bar.isAncestorOf(QApplication.focusWidget()):
            self.find_bar.close_bar()
        else:
            self.assistant.stop()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _connect(self) -> None:
        self.worker.ready.connect(self._worker_ready)
        self.worker.progress.connect(self._progress)
        self.worker.died.connect(self._worker_died)
        self.assistant.generationDone.connect(self._generation_done)
        self.documents.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.encryption.finished.connect(lambda _ok, text: self.statusBar().showMessage(text, 10000))
        self.documents.loaded.connect(lambda _: self._schedule_count())
        self.documents.loaded.connect(self.grammar.document_loaded)
        self.documents.loaded.connect(lambda _: self.dialect_actions[self.grammar.dialect].setChecked(True))
        self.grammar.statusChanged.connect(self.check_label.setText)
        self.editor.textChanged.connect(self._schedule_count)
        self.editor.selectionChanged.connect(self._schedule_count)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _: self.set_theme(str(self.settings.value(prefs.THEME, "system")), remember=False))

    # -- worker ------------------------------------------------------------------------------
    def _worker_ready(self, hello: dict) -> None:
        if self.workspace.closed:  # the window closed while the worker was starting
            return
        self.model_label.setText("Loading the model…")
        self.load_bar.setRange(0, 0)
        self.load_bar.show()
        budget = self.workspace.cache_budget_mb()
        options = {"cache_budget_mb": budget} if budget is not None else {}
        self.load_request = self.worker.request("load_model", channel="load", on_done=self._model_loaded, **options)

    def _progress(self, request_id: str, event: Progress) -> None:
        if request_id != self.load_request:
            return
        show_fraction(self.load_bar, event.fraction)
        self.model_label.setText(event.message or "Loading the model…")

    def _model_loaded(self, event: Done | Error) -> None:
        if self.workspace.closed:  # the window closed while the model was loading
            return
        self.load_bar.hide()
        if isinstance(event, Error):
            self.model_label.setText("No model")
            self.panel.set_task_marks({})
            if event.code not in ("worker_died", "worker_start_failed", "cancelled"):
                self.banner.show_message(event.message, "Models…", self.show_models)
            return
        model = event.result.get("model") or {}
        self.n_ctx = event.result.get("n_ctx")
        self.model_label.setText(f"{model.get('name', '?')} · {model.get('quantization', '')}".strip(" ·"))
        self.panel.set_task_marks(self.workspace.task_marks(model))
        self.device_label.setText(device_label(event.result))

    def _worker_died(self, message: str) -> None:
        self.model_label.setText("Worker stopped")
        self.load_bar.hide()
        self.banner.show_message(message, "Restart the worker", self.restart_worker)

    def restart_worker(self) -> None:
        self.banner.hide()
        self.model_label.setText("Starting…")
        self.worker.restart()

    def _generation_done(self, result: dict) -> None:
        self.speed_label.setText(generation_summary(result.get("stats") or {}, self.n_ctx))

    # -- counts, zoom, theme -----------------------------------------------------------------
    def _schedule_count(self) -> None:
        self.count_timer.start(count_delay_ms(self.editor.document().characterCount()))

    def _recount(self) -> None:
        cursor = self.editor.textCursor()
        text = cursor.selectedText() if cursor.hasSelection() else self.editor.text()
        counts = self.counters[cursor.hasSelection()].count(text)
        self.count_label.setText(("Selection: " if cursor.hasSelection() else "") + counts.label())

    def _zoom(self, steps: int) -> None:
        self.editor.zoom(steps)
        self.settings.setValue(prefs.ZOOM, self.editor.zoom_steps)

    def set_theme(self, theme: str, remember: bool = True) -> None:
        app = QApplication.instance()
        name = apply_theme(app, theme)  # type: ignore[arg-type]
        self.editor.highlighter.set_dark(name == "dark")
        self.grammar.set_dark(name == "dark")
        self.editor.highlighter.rehighlight()
        if remember:
            self.settings.setValue(prefs.THEME, theme)

    def set_checking(self, on: bool) -> None:
        """The View toggle: spelling and grammar as you type, remembered."""
        self.check_action.setChecked(on)
        self.grammar.set_enabled(on)
        self.settings.setValue(prefs.CHECK_GRAMMAR, on)

    # -- dialogs -----------------------------------------------------------------------------
    def show_revisions(self) -> None:
        from app.ui.revisions import RevisionsDialog

        if self.documents.doc_id is not None:
            self.documents.save("autosave")
            RevisionsDialog(self.documents, self).open()

    def show_models(self) -> None:
        from app.ui.models_dialog import ModelManager

        ModelManager(self.home, self).open()

    def show_corpus(self) -> QWidget:
        """The Corpus view, a window of its own (made once, kept while the desk is open)."""
        from app.ui.corpus_view import CorpusView

        if self.corpus_view is None:
            from app.ui.sentence_rewrite import SentenceRewriteController

            self.corpus_view = CorpusView(self.home, self, self.worker)
            self.sentence_rewrites = SentenceRewriteController(self.home, self.worker, self.editor, self.workspace,
                                                               lambda: self.documents.save("autosave"), self)
            self.sentence_rewrites.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
            self.corpus_view.rewriteRequested.connect(self.sentence_rewrites.start)
        self.corpus_view.show()
        self.corpus_view.raise_()
        return self.corpus_view

    def search_manuscript(self) -> None:
        """Save the open document, then search the writer's own documents in the Corpus view."""
        self.documents.save("autosave")
        self.show_corpus().search_manuscript(self.editor.textCursor().selectedText().strip())

    def show_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        SettingsDialog(self.worker, self.workspace, self, self.encryption).open()

    # -- state -------------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        if geometry := s.value(prefs.GEOMETRY):
            self.restoreGeometry(geometry)
        if sizes := s.value(prefs.SPLITTER):
            self.splitter.restoreState(sizes)
        zoom = int(s.value(prefs.ZOOM, 0) or 0)
        if zoom:
            self.editor.zoom(zoom)
        self.set_checking(str(s.value(prefs.CHECK_GRAMMAR, True)).lower() == "true")
        last = s.value(prefs.LAST_DOCUMENT)
        self.documents.open_initial(int(last) if last not in (None, "") else None)

    def save_state(self) -> None:
        self.settings.setValue(prefs.GEOMETRY, self.saveGeometry())
        self.settings.setValue(prefs.SPLITTER, self.splitter.saveState())
        if self.documents.doc_id is not None:
            self.settings.setValue(prefs.LAST_DOCUMENT, self.documents.doc_id)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Save the text and the layout, then let the worker go (politely, then firmly)."""
        self.grammar.close()
        self.documents.close()
        if self.corpus_view is not None:
            self.corpus_view.importer.cancel()  # an import stops between texts and resumes next time
        self.save_state()
        self.assistant.discard()
        self.worker.shutdown()
        super().closeEvent(event)
