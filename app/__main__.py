"""python -m app: open the desktop window (the `scriptorium` command with no arguments does the same)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app.display_check import display_problem
from inference.client import DEFAULT_BACKEND
from inference.paths import home_dir

ICON = Path(__file__).resolve().parents[1] / "assets" / "icons" / "scriptorium.svg"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scriptorium", description="The Scriptorium writing desk.")
    parser.add_argument("--home", metavar="DIR", help="data directory (default: $SCRIPTORIUM_HOME or the platform's)")
    parser.add_argument("--backend", default=DEFAULT_BACKEND, choices=("auto", "llama_cpp", "torch", "fake"),
                        help="inference backend of the worker (auto: torch on a CUDA GPU for the models it runs, else llama.cpp)")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--self-test", action="store_true", help="load the model, continue a sentence, report it as JSON and quit")
    args, _qt_args = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    """Open the window on the data directory and run the event loop until it closes and the worker has stopped."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    problem = display_problem(os.environ)
    if problem:
        print(f"scriptorium: {problem}", file=sys.stderr)
        return 1
    try:
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"scriptorium: PySide6 is not installed ({exc}); run `make install`.", file=sys.stderr)
        return 1
    from app.desk import prefs
    from app.ui.main_window import MainWindow, window_settings
    from app.ui.theme import apply_theme

    home = home_dir(args.home)
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in argv if a.startswith("-platform")]])
    app.setOrganizationName(prefs.ORGANIZATION)
    app.setApplicationName(prefs.APPLICATION)
    app.setDesktopFileName("scriptorium")  # the installed menu entry (packaging/scriptorium.desktop): its name and icon
    app.setWindowIcon(QIcon(str(ICON)))
    apply_theme(app, str(window_settings(home).value(prefs.THEME, "system")))
    if not _unlock(home):
        return 1
    _check_library(home)
    # The app ends when the worker has gone, not the moment the window closes: closing sends the worker a
    # shutdown and escalates to terminate/kill on a timer, so quitting never waits on a blocking call.
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(home, backend=args.backend)
    window.worker.stopped.connect(lambda: app.quit() if not window.isVisible() else None)
    window.show()
    test = None
    if args.self_test:
        from app.self_test import SelfTest

        test = SelfTest(window, app.exit)
    code = app.exec()
    return code if test is None else test.exit_code


def _unlock(home: Path) -> bool:
    """An encrypted library asks for its passphrase before anything opens it; False when the writer chose Quit."""
    from app.store.library_key import is_locked
    from app.ui.passphrase_dialog import unlock_dialog

    return not is_locked(home) or bool(unlock_dialog(home).exec())


def _check_library(home: Path) -> None:
    """The day's first start checks the whole library and backs it up; a damaged one is set aside and its backup offered."""
    from app.store.db import daily_check
    from app.store.recovery import CorruptDatabase
    from app.ui.recovery_dialog import recovery_box

    try:
        daily_check(home)
    except CorruptDatabase as damage:
        recovery_box(damage).exec()  # modal, before the window opens on the library


if __name__ == "__main__":
    sys.exit(main())
