"""Values passed between the corpus modules: a text to import, and a match found in one."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextRecord:
    """One text as an importer read it; `body` is the whole text, already decoded."""

    title: str
    body: str
    author: str = ""
    collection: str = ""
    date: str = ""
    source_path: str = ""  # the file it came from (and "#n" for the n-th record of a CSV/JSON file)
    encoding: str = ""  # what the bytes were decoded from, when the importer had to decide
    format: str = ""  # txt, md, html, docx, epub, pdf, csv, json, jsonl


@dataclass(frozen=True)
class Hit:
    """A match: [start, end) are character offsets into the text's original body."""

    text_id: int
    start: int
    end: int
    title: str = ""
    score: float = 0.0
    extra: dict = field(default_factory=dict)
