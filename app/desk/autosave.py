"""When to autosave: a second after the last keystroke, and never more than 1.5 seconds after the first unsaved one."""

from __future__ import annotations

from dataclasses import dataclass

IDLE_MS = 1000
# A keystroke is on disk at most this long after it was typed, pause or no pause, so a kill -9 of the app loses
# at most the last 2 s of typing (tests/test_crash.py measures it) with room for a slow save. An autosave rewrites
# the open document's row and its trailing autosave revision (they coalesce), so saving this often costs a
# 1 MB novel two row writes a second and a half, a few milliseconds.
MAX_WAIT_MS = 1500


@dataclass
class AutosavePolicy:
    """Tracks unsaved edits; `edited` answers how long the save timer should wait from now."""

    idle_ms: int = IDLE_MS
    max_wait_ms: int = MAX_WAIT_MS
    first_unsaved_ms: float | None = None

    @property
    def dirty(self) -> bool:
        """Whether there are edits not yet saved."""
        return self.first_unsaved_ms is not None

    def edited(self, now_ms: float) -> int:
        """Record an edit at `now_ms`; return the delay until the save is due."""
        if self.first_unsaved_ms is None:
            self.first_unsaved_ms = now_ms
        deadline = self.first_unsaved_ms + self.max_wait_ms
        return max(0, int(min(self.idle_ms, deadline - now_ms)))

    def saved(self) -> None:
        """Everything up to now is stored."""
        self.first_unsaved_ms = None
