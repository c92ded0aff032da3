"""Story notes in a prompt: the notes always given, the entries whose keys were seen near the cursor, and their cut order.

The desk chooses the entries (app/desk/story_match.py) and sends them with how far before the cursor a key
of each was last seen; the engine renders them as plain context and, when the prompt is too long, drops
the one seen farthest back first (see engine._fit for the whole order of cuts).
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.protocol import BadRequest

# When story notes share the prompt, the text before the cursor is never cut below this many characters
# (about two paragraphs): a continuation needs the sentence it continues more than any note.
MIN_TEXT_CHARS = 1000
# Beside matched entries, text farther than this from the cursor is cut before any entry is (about two pages):
# an entry whose key was just written says more than a chapter long past.
NEAR_TEXT_CHARS = 8000


@dataclass(frozen=True)
class Entry:
    """A matched entry: its name, its text, and how many characters before the cursor a key of it was last seen."""

    name: str
    text: str
    distance: int = 0

    def render(self) -> str:
        return f"{self.name}: {self.text.strip()}"


@dataclass(frozen=True)
class StoryNotes:
    """What a generate request's `notes` parameter carries."""

    text: str = ""
    entries: tuple[Entry, ...] = ()

    @classmethod
    def from_wire(cls, data: object) -> "StoryNotes":
        """`{"text": str, "entries": [{"name", "text", "distance"}]}`; BadRequest for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("text", ""), str) or not isinstance(data.get("entries", []), list):
            raise BadRequest('notes must be {"text": "...", "entries": [{"name": "...", "text": "...", "distance": N}]}.')
        try:
            entries = tuple(Entry(str(e["name"]), str(e["text"]), int(e.get("distance", 0))) for e in data.get("entries", []))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise BadRequest("Each notes entry needs a name, a text and a whole-number distance.") from None
        return cls(data.get("text", ""), entries)

    def without_oldest(self) -> tuple["StoryNotes", Entry]:
        """These notes less the entry whose key was seen farthest from the cursor, and that entry."""
        oldest = max(self.entries, key=lambda e: e.distance)
        return StoryNotes(self.text, tuple(e for e in self.entries if e is not oldest)), oldest

    def render(self) -> str:
        """The notes, then each entry as `Name: text`, separated by blank lines, in the order the writer keeps them
        (a stable order keeps the prompt's prefix, and so the session cache, from changing as the cursor moves)."""
        parts = [self.text.strip()] + [e.render() for e in self.entries]
        return "\n\n".join(p for p in parts if p)
