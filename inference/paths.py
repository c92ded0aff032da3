"""Where Scriptorium keeps its data (SCRIPTORIUM_HOME, --home, or the platform's data directory), readable by its owner only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

ENV_HOME = "SCRIPTORIUM_HOME"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# What Scriptorium keeps in the data directory, made private again at every start. The directory may be one the
# user named (--home ~/Writing), so only these are touched: files whose names start so (with their -wal, -shm and
# .corrupt-* kin) and everything inside these folders.
PRIVATE_FILES = ("scriptorium.db", "cache.db", "models.json", "window.ini", "serve-token", "library.json")
PRIVATE_FOLDERS = ("backups", "cache", "models", "reports")


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory, created if missing and made private; an explicit override beats the environment."""
    chosen = override or os.environ.get(ENV_HOME) or platformdirs.user_data_dir("scriptorium", appauthor=False)
    path = private_dir(Path(chosen).expanduser().resolve())
    make_private(path)
    return path


def models_dir(home: Path) -> Path:
    """Directory holding the assembled embedded model and compressed outputs."""
    return private_dir(home / "models")


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (created if missing; parents are made as usual)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read, created empty if missing: SQLite gives its -wal and -shm the same mode."""
    try:
        path.chmod(PRIVATE_FILE_MODE)
    except FileNotFoundError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
        path.chmod(PRIVATE_FILE_MODE)  # the umask may have taken bits the owner needs
    return path


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text` (UTF-8), the file private from its first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def make_private(home: Path) -> None:
    """Give the data directory's own files mode 0600 and its folders 0700, as an older version may have left them."""
    home.chmod(PRIVATE_DIR_MODE)
    for entry in home.iterdir():
        if entry.is_symlink():  # a link the user made points at their own files: leave those alone
            continue
        if entry.is_file() and entry.name.startswith(PRIVATE_FILES):
            _chmod(entry, PRIVATE_FILE_MODE)
        elif entry.is_dir() and entry.name in PRIVATE_FOLDERS:
            _chmod(entry, PRIVATE_DIR_MODE)
            for folder, dirs, files in os.walk(entry):  # does not follow symlinked folders
                for name, mode in [*((d, PRIVATE_DIR_MODE) for d in dirs), *((f, PRIVATE_FILE_MODE) for f in files)]:
                    if not (path := Path(folder, name)).is_symlink():
                        _chmod(path, mode)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):  # another process removed it meanwhile (an -shm at its last close)
        path.chmod(mode)
