"""`scriptorium --self-test`: open the real window, let its worker load the model and continue a sentence, then close.

For an installed bundle, where "does it start" means the window, the worker process it spawns, the model and
llama.cpp's library all work together. One JSON line on stdout says what ran; the exit code says whether it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from inference.protocol import Done, Error

PROMPT = "The lighthouse keeper climbed the stairs"
MAX_TOKENS = 12
# A cold start on a busy two-core laptop: the worker's imports, assembling the 253 MB model, loading it.
TIMEOUT_MS = 180_000


class SelfTest(QObject):
    """Watches a MainWindow: after its model has loaded, asks for one continuation; the first outcome ends the app."""

    def __init__(self, window: QMainWindow, quit_app: Callable[[int], None], timeout_ms: int = TIMEOUT_MS) -> None:
        super().__init__(window)
        self.window, self.quit_app, self.exit_code = window, quit_app, 1
        self.report: dict = {"window": True}
        window.worker.finished.connect(self._finished)
        window.worker.died.connect(lambda why: self._end(False, f"the worker died: {why}"))
        QTimer.singleShot(timeout_ms, self, lambda: self._end(False, f"no answer within {timeout_ms // 1000} s"))

    def _finished(self, request_id: str, event: Done | Error) -> None:
        if request_id != self.window.load_request and request_id != self.report.get("request"):
            return
        if isinstance(event, Error):
            self._end(False, f"{event.code}: {event.message}")
        elif request_id == self.window.load_request:
            self.report["model"] = (event.result.get("model") or {}).get("name")
            self.report["request"] = self.window.worker.request("generate", task="continue", text=PROMPT,
                                                                max_tokens=MAX_TOKENS, temperature=0)
        else:
            output = str(event.result.get("output", ""))
            self.report["output"] = output
            self._end(bool(output.strip()), "" if output.strip() else "the model answered nothing")

    def _end(self, ok: bool, why: str) -> None:
        if "ok" in self.report:  # the first outcome counts; a timeout after success is nothing
            return
        self.report.update(ok=ok, **({"error": why} if why else {}))
        self.report.pop("request", None)
        self.exit_code = 0 if ok else 1
        print(json.dumps(self.report, ensure_ascii=False), flush=True)
        self.window.worker.stopped.connect(lambda: self.quit_app(self.exit_code))
        self.window.close()  # shuts the worker down; `stopped` follows, also when it was already gone
        if not self.window.worker.running:
            QTimer.singleShot(0, self, lambda: self.quit_app(self.exit_code))

