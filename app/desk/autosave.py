"""When to autosave: at most two seconds after the last keystroke, and never more than ten seconds late while typing."""

from __future__ import annotations

from dataclasses import dataclass

IDLE_MS = 2000
# Someone typing without a two-second pause still gets a save this often; kill -9 loses at most this much.
MAX_WAIT_MS = 10_000


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
