"""Which story entries reach a prompt: those with a key in the text just before the cursor, as KoboldCpp's World Info.

A key is a word or phrase, matched case-insensitively as a whole word (so "Ann" does not wake "Annual");
a key holding a Chinese, Japanese or Korean character is matched as a substring, since those scripts put
no spaces between words (a Korean particle joins its noun). Keys are separated by commas (full-width and
ideographic commas too).
"""

from __future__ import annotations

import re

from app.scripts import HANGUL, UNSPACED
from app.store.story_notes import Story, StoryEntry

# How far back before the cursor a key wakes its entry: about a page of prose, the scene being written.
MATCH_CHARS = 2000
_SEPARATORS = re.compile("[,\uff0c\u3001]")  # , ， 、
_UNSPACED_OR_HANGUL = re.compile(f"[{UNSPACED}{HANGUL}]")


def keys(entry: StoryEntry) -> list[str]:
    """An entry's keys as the writer listed them, blanks dropped."""
    return [k.strip() for k in _SEPARATORS.split(entry.keys) if k.strip()]


def key_pattern(key: str) -> re.Pattern[str]:
    """A key as a case-insensitive pattern: a whole word or phrase (any run of spaces between its words), or a substring
    for a key in a script written without spaces."""
    body = r"\s+".join(re.escape(word) for word in key.split())
    if not _UNSPACED_OR_HANGUL.search(key):
        body = rf"(?<!\w){body}(?!\w)"
    return re.compile(body, re.IGNORECASE)


def last_seen(entry: StoryEntry, window: str) -> int | None:
    """Where the last mention of any of the entry's keys ends in `window`, or None when there is none."""
    ends = [m.end() for k in keys(entry) for m in key_pattern(k).finditer(window)]
    return max(ends, default=None)


def request_notes(story: Story, document: str, cursor: int) -> dict | None:
    """The generate request's `notes`: the notes text, and each entry a key of which is in the MATCH_CHARS before the
    cursor, with how far before the cursor it was last seen (the engine drops the farthest first); None when empty."""
    window = document[max(0, cursor - MATCH_CHARS) : cursor]
    entries = []
    for entry in story.entries:
        end = last_seen(entry, window)
        if end is not None and entry.text.strip():
            entries.append({"name": entry.name, "text": entry.text, "distance": len(window) - end})
    if not story.notes.strip() and not entries:
        return None
    return {"text": story.notes, "entries": entries}
