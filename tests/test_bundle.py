"""A PyInstaller bundle's one executable is the app, the CLI and the worker: the command lines and the dispatch that make it so.

The bundle itself is built and smoke-tested by `make package` (packaging/smoke_test.sh); these tests stand a small
script in for its executable, so the frozen code paths run in the suite without PyInstaller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.desk.compress_feed import compress_command
from inference.client import WorkerClient, worker_command
from inference.launch import WORKER_FLAG, module_command
from tests.gui_helpers import gui_home  # noqa: F401  (a fixture)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def bundle_exe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the bundle's executable (runs app.bundle.main with its arguments), made sys.executable of a frozen process."""
    exe = tmp_path / "scriptorium"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; from app.bundle import main; sys.exit(main())" "$@"\n')
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    return exe


def test_unbundled_commands_run_modules_with_this_interpreter() -> None:
    assert module_command("inference.worker") == [sys.executable, "-m", "inference.worker"]
    assert worker_command(None, "fake") == [sys.executable, "-m", "inference.worker", "--backend", "fake"]
    assert compress_command("m", "Q8_0", "/h")[:4] == [sys.executable, "-m", "app.cli", "compress"]


def test_bundled_commands_run_the_executable_itself(bundle_exe: Path) -> None:
    assert worker_command(Path("/h"), "fake") == [str(bundle_exe), WORKER_FLAG, "--backend", "fake", "--home", "/h"]
    assert compress_command("m", "Q8_0", "/h")[:3] == [str(bundle_exe), "compress", "m"]


def test_a_module_the_bundle_cannot_run_is_refused(bundle_exe: Path) -> None:
    with pytest.raises(KeyError):
        module_command("llama_cpp.server")


def test_the_bundled_worker_answers_through_the_client(bundle_exe: Path, home: Path) -> None:
    with WorkerClient(home=home, backend="fake", env={"SCRIPTORIUM_FAKE_REPLY": "from the bundle"}) as client:
        assert client.proc is not None and client.proc.args[:2] == [str(bundle_exe), WORKER_FLAG]
        hello = client.call("hello", timeout=60)
        done = client.call("generate", timeout=60, task="continue", text="Once", max_tokens=64)
    assert hello["backend"] == "fake"
    assert done["output"] == "from the bundle"


def test_the_bundled_executable_is_the_command_line(bundle_exe: Path, home: Path) -> None:
    run = subprocess.run([str(bundle_exe), "docs", "list", "--home", str(home), "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"documents": []}


def test_self_test_loads_the_model_continues_and_quits(gui_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SCRIPTORIUM_FAKE_REPLY": "once more"}
    run = subprocess.run([sys.executable, "-m", "app", "--self-test", "--backend", "fake", "--home", str(gui_home)],
                         capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"window": True, "model": report["model"], "output": "once more", "ok": True}


def test_self_test_fails_when_the_worker_never_answers(qtbot, gui_home: Path) -> None:
    from app.self_test import SelfTest
    from app.ui.main_window import MainWindow

    window = MainWindow(gui_home, backend="fake", start_worker=False)
    exits: list[int] = []  # not the test run's QApplication.exit: that would end every later test's event loops
    test = SelfTest(window, exits.append, timeout_ms=50)
    qtbot.waitUntil(lambda: bool(exits), timeout=30000)
    assert exits[0] == test.exit_code == 1 and test.report["ok"] is False and "no answer" in test.report["error"]
    window.deleteLater()
