"""Before Qt starts: say in a sentence why no window can open, since Qt itself aborts with no way to recover."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping

# Libraries Qt's xcb plugin loads that minimal Debian/Ubuntu installs lack, and the packages that hold them.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def _loadable(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def display_problem(env: Mapping[str, str], platform: str = sys.platform, loadable: Callable[[str], bool] = _loadable) -> str | None:
    """A sentence naming what stops a window from opening, or None when Qt can be tried."""
    if platform != "linux" or env.get("QT_QPA_PLATFORM") or env.get("WAYLAND_DISPLAY"):
        return None
    if not env.get("DISPLAY"):
        return ("There is no display to open a window on (DISPLAY is not set). Run Scriptorium from a desktop "
                "session, or use the command line: `scriptorium write continue --text-file F`.")
    missing = [package for library, package in XCB_LIBRARIES.items() if not loadable(library)]
    if missing:
        return (f"Qt cannot open a window: its xcb plugin needs {', '.join(missing)}. "
                f"Install with: sudo apt-get install {' '.join(missing)}")
    return None
