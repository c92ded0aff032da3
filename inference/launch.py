"""How this program starts its own parts as processes: `python -m MODULE`, or in a PyInstaller bundle its one executable."""

from __future__ import annotations

import sys

WORKER_FLAG = "--worker"
# A bundle's sys.executable is the app itself, which has no -m: it runs the worker when its first argument is
# WORKER_FLAG and the command line otherwise (app/bundle.py). Only these modules are ever started as processes.
BUNDLED_ARGS = {"inference.worker": [WORKER_FLAG], "app.cli": []}


def bundled() -> bool:
    """Whether this process runs from a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def module_command(module: str) -> list[str]:
    """The start of a command line that runs `module` as `python -m module` would, bundled or not."""
    if bundled():
        return [sys.executable, *BUNDLED_ARGS[module]]
    return [sys.executable, "-m", module]
