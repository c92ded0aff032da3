"""`scriptorium bench gui` end to end with the fake worker: every phase measured, and text really streamed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_bench_gui_measures_each_phase_while_text_streams(home: Path, tiny_model: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(scratch)}
    argv = [sys.executable, "-m", "app.cli", "bench", "gui", "--backend", "fake", "--model", str(tiny_model), "--seconds", "2",
            "--doc-kb", "64", "--json", "--home", str(home)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for phase in ("idle", "streaming", "first check", "streaming, checking on"):
        assert report[phase]["n"] > 0 and report[phase]["p99"] is not None, phase
    assert report["streamed_chars"] > 0  # lateness while nothing streams would measure nothing
    assert report["checks_while_typing"] >= 1 and report["issues"] > 0
    assert done.returncode == (0 if report["pass"] else 1)  # the verdict is the exit status; its timing is not asserted
    assert not list(scratch.glob("scriptorium-bench-gui-*"))  # its home, with a copy of the model, is gone
