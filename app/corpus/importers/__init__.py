"""Corpus import: one reader per format, and the job that brings files and folders into a corpus.

Modules, each with one job:
  base.py       ReadOptions (field mapping, limits), SkipFile (the reason a file is left out), the size cap,
                the zip-bomb checks for .docx/.epub, XML parsed without entities or network
  dispatch.py   which reader reads a file: its extension, or its bytes where the extension lies (PDF, zip, HTML);
                read_file, and preview / sample for the field-mapping dialog
  text.py       .txt and .md, the encoding detected by app.formats.encoding and reported
  html_page.py  .html/.htm with lxml.html: scripts, styles, navigation dropped; one paragraph a line
  word.py       .docx through app.formats.word (Word numbering, headings, tables) as plain text
  epub.py       .epub with zipfile and lxml: container.xml -> OPF -> spine order; dc:title, dc:creator, dc:date
  pdf.py        .pdf text layer with pypdf; a PDF without one is skipped as "no text layer (scanned?)"
  tabular.py    .csv (a header row), .json, .jsonl: each row or object a text, by a field mapping; guess_fields
  journal.py    the import journal (table corpus_imports): each file's size, mtime, mapping, state, texts read
  job.py        run_import: walk, read, dedupe, commit per file or batch, resume, cancel, ImportReport

Every reader is `read(path, options) -> Iterator[TextRecord]` and raises SkipFile (a UserError) when the
file cannot be imported; the job lists it with that reason and goes on.
"""

from app.corpus.importers.base import ReadOptions, SkipFile
from app.corpus.importers.dispatch import READERS, file_format, preview, read_file, sample
from app.corpus.importers.job import ImportProgress, ImportReport, run_import
from app.corpus.importers.tabular import FIELDS, guess_fields

__all__ = [
    "FIELDS", "READERS", "ImportProgress", "ImportReport", "ReadOptions", "SkipFile",
    "file_format", "guess_fields", "preview", "read_file", "run_import", "sample",
]
