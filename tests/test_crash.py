"""Crash safety, measured: the app killed with SIGKILL while typing in its real window, a compression killed while
writing its output; after each the library checks clean. (The worker killed mid-generation: tests/test_gui_window.py;
an import killed mid-file: tests/test_corpus_import_job.py.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

from app.store import create_document, open_db
from inference.compress.quantize import QuantizeOptions, quantize
from inference.models import Registry

ROOT = Path(__file__).resolve().parents[1]
# Just before the second autosave deadline (app/desk/autosave.py: 1.5 s after the first unsaved keystroke, so at
# about 1.5 s and 3.0 s): close to the most typing a kill can catch unsaved, about 1.4 s of it.
TYPE_FOR_S = 2.9
MAX_LOST_S = 2.0


def _driver(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    # A session of its own: the window's worker is in the same process group, ended with it at the end.
    return subprocess.Popen([sys.executable, "-m", "tests.crash_driver", *args], cwd=ROOT, env=env, text=True,
                            start_new_session=True, **kwargs)


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _keystroke(line: str) -> tuple[float, str]:
    stamp, code = line.split()
    return float(stamp), chr(int(code))


def test_killing_the_app_mid_typing_loses_at_most_the_last_two_seconds(home: Path, tiny_model: Path) -> None:
    Registry(home).use(str(tiny_model))  # the fake worker's load_model would otherwise assemble the embedded model
    proc = _driver("type", str(home), stdout=subprocess.PIPE)
    try:
        doc_id = int(proc.stdout.readline().split()[1])
        typed = [_keystroke(proc.stdout.readline())]
        while typed[-1][0] - typed[0][0] < TYPE_FOR_S:
            typed.append(_keystroke(proc.stdout.readline()))
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        typed += [_keystroke(line) for line in proc.stdout]  # what it had typed before the kill landed
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert _integrity(home / "scriptorium.db") == "ok"
    body = sqlite3.connect(home / "scriptorium.db").execute("SELECT body FROM documents WHERE id = ?", [doc_id]).fetchone()[0]
    text = "".join(char for _, char in typed)
    assert body and text.startswith(body)  # what was saved is what was typed, in order
    lost = typed[len(body):]
    lost_s = killed_at - lost[0][0] if lost else 0.0
    assert lost_s <= MAX_LOST_S, f"{len(lost)} characters typed in the last {lost_s:.2f} s were lost"


def test_a_compression_killed_mid_write_registers_nothing_and_the_next_run_clears_its_partial(
        home: Path, tmp_path: Path, tiny_model: Path) -> None:
    create_document(open_db(home), "Kept", "A library to keep intact.")
    out = tmp_path / "tiny-Q8_0.gguf"
    partial = out.with_name(out.name + ".partial")
    args = ["compress", str(tiny_model), "--type", "Q8_0", "--tokens", "100", "--out", str(out), "--home", str(home)]
    killed = _driver("compress", *args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert killed.wait(timeout=120) == -signal.SIGKILL
    assert partial.stat().st_size > 0 and not out.exists()  # half a model, under a name nothing loads
    assert [m.path for m in Registry(home).user_models()] == []
    quantize(tiny_model, out, QuantizeOptions("Q8_0"), 10**6)  # the next run's write step, which the CLI reaches after measuring
    assert out.exists() and not partial.exists()
    assert _integrity(home / "scriptorium.db") == "ok"
