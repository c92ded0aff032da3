"""Where Scriptorium keeps its data: SCRIPTORIUM_HOME, --home, or the platform's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "SCRIPTORIUM_HOME"


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory, created if missing; an explicit override beats the environment."""
    chosen = override or os.environ.get(ENV_HOME) or platformdirs.user_data_dir("scriptorium", appauthor=False)
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(home: Path) -> Path:
    """Directory holding the assembled embedded model and compressed outputs."""
    path = home / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
