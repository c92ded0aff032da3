"""Plain text (.txt) and Markdown (.md): the encoding detected and reported, Markdown markup dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from app.corpus.importers.base import ReadOptions, SkipFile, read_capped
from app.corpus.records import TextRecord
from app.formats.blocks import first_heading, parse_markdown, to_plain_text
from app.formats.encoding import Decoded, decode_bytes


def decode_file(path: Path, options: ReadOptions) -> Decoded:
    """A text file's decoded text, within the size cap; SkipFile (or NotTextError) when it is no text."""
    decoded = decode_bytes(read_capped(path, options), path.name)
    if not decoded.text.strip():
        raise SkipFile("empty: no text in it")
    return decoded


def read_txt(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A text file as one text titled by its file name."""
    decoded = decode_file(path, options)
    yield TextRecord(path.stem, decoded.text, source_path=str(path), encoding=decoded.label, format="txt")


def read_md(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A Markdown file as one plain text, titled by its first heading or else its file name."""
    decoded = decode_file(path, options)
    body = to_plain_text(parse_markdown(decoded.text))
    title = first_heading(decoded.text) or path.stem
    yield TextRecord(title, body, source_path=str(path), encoding=decoded.label, format="md")
