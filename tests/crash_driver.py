"""Processes the crash tests (tests/test_crash.py) start and kill with SIGKILL.

`python -m tests.crash_driver type HOME` opens the desk's real window (fake backend) on HOME, prints the open
document's id, then types TEXT into the editor with QTest, one character every 20 ms, printing
`<time.monotonic()> <character code>` once each character is in the editor, until it is killed.

`python -m tests.crash_driver compress ARGS…` runs `scriptorium compress ARGS…` and kills itself with SIGKILL
while the output is half written: the tiny model quantizes in milliseconds, far too fast for a kill from outside
to land inside the write, so the kill comes from within llama.cpp's step, after half the bytes are on disk.

`python -m tests.crash_driver rekey before-commit|after-commit HOME` runs `scriptorium library encrypt` and kills
itself with SIGKILL at that stage of the switch.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

TEXT = "It was a dark and stormy night; the rain fell in torrents, except at occasional intervals. " * 10
INTERVAL_MS = 20


def type_into_the_window(home: Path) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    app = QApplication([sys.argv[0]])
    window = MainWindow(home, backend="fake")
    window.show()
    print("doc", window.documents.doc_id, flush=True)
    chars = iter(TEXT)

    def type_one() -> None:
        char = next(chars, None)
        if char is None:
            timer.stop()
            return
        QTest.keyClicks(window.editor, char)
        print(f"{time.monotonic():.4f} {ord(char)}", flush=True)  # the monotonic clock is the same in every process

    timer = QTimer(interval=INTERVAL_MS)
    timer.timeout.connect(type_one)
    timer.start()
    return app.exec()


def compress_killed_mid_write(argv: list[str]) -> int:
    from app.cli import main
    from inference.compress import quantize

    native = quantize._llama_quantize

    def half_written_then_killed(src: Path, partial: Path, options: object) -> int:
        native(src, partial, options)
        with open(partial, "r+b") as f:
            f.truncate(partial.stat().st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
        return 1  # never reached

    quantize._llama_quantize = half_written_then_killed
    return main(argv)


def rekey_killed(stage: str, home: str) -> int:
    """`scriptorium library encrypt` killed with SIGKILL before its commit point (one file exported) or after it
    (the marker written, one file renamed into place); the new passphrase comes from the environment."""
    from app.cli import main
    from app.store import rekey

    if stage == "before-commit":
        export = rekey._export_one

        def exported_then_killed(conn: object, path: Path, key: bytes | None) -> None:
            export(conn, path, key)
            os.kill(os.getpid(), signal.SIGKILL)

        rekey._export_one = exported_then_killed
    else:
        rename = rekey._rename_into_place

        def one_renamed_then_killed(where: Path, names: tuple[str, ...]) -> None:
            rename(where, names[:1])
            os.kill(os.getpid(), signal.SIGKILL)

        rekey._rename_into_place = one_renamed_then_killed
    return main(["library", "encrypt", "--home", home])


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    drivers = {"type": lambda: type_into_the_window(Path(rest[0])), "rekey": lambda: rekey_killed(*rest)}
    sys.exit(drivers[mode]() if mode in drivers else compress_killed_mid_write(rest))
