"""What an importer gives back: a document's title, body and format, and the encoding its text was read in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Imported:
    """A file read as a document; `encoding` is a text file's (a label such as 'GB18030'), None for .docx."""

    title: str
    body: str
    format: str
    encoding: str | None = None
