"""Document import and export: one `import_file` and one `export_document`, dispatching on the file extension."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol

from app.errors import UserError
from app.formats.epub import export_epub
from app.formats.imported import Imported
from app.formats.markdown import export_md, import_md
from app.formats.opendocument import export_odt
from app.formats.text import export_txt, import_txt
from app.formats.word import export_docx, import_docx

Importer = Callable[[Path], Imported]
Exporter = Callable[[str, str, str, Path], None]

IMPORTERS: dict[str, Importer] = {
    "md": import_md, "markdown": import_md, "txt": import_txt, "text": import_txt, "docx": import_docx,
}
EXPORTERS: dict[str, Exporter] = {
    "md": export_md, "txt": export_txt, "docx": export_docx, "odt": export_odt, "epub": export_epub,
}


class DocumentLike(Protocol):
    """What export needs of a document (app.store.Document fits)."""

    title: str
    body: str
    format: str


def import_file(path: Path) -> Imported:
    """Read a .md, .txt or .docx file as a document; UserError if it cannot be imported."""
    path = Path(path)
    importer = IMPORTERS.get(path.suffix.lower().lstrip("."))
    if importer is None:
        raise UserError(f"Cannot import {path.name}: Scriptorium imports .md, .txt and .docx files.")
    if not path.is_file():
        raise UserError(f"No file {path}; check the path.")
    return importer(path)


def export_document(doc: DocumentLike, path: Path, fmt: str | None = None) -> Path:
    """Write a document to `path` as `fmt` (default: the extension); the old file is replaced only on success."""
    path = Path(path)
    name = (fmt or path.suffix).lower().lstrip(".")
    exporter = EXPORTERS.get(name)
    if exporter is None:
        choices = ", ".join(EXPORTERS)
        raise UserError(f"Cannot export to {name or path.name!r}; choose a format: {choices} (--format or the extension).")
    if not path.parent.is_dir():
        raise UserError(f"No folder {path.parent}; create it first or choose another path.")
    # Written beside the target and renamed over it, so a failed export never leaves half a file.
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        exporter(doc.title, doc.body, doc.format, partial)
        os.replace(partial, path)
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror}; choose another path.") from exc
    finally:
        partial.unlink(missing_ok=True)
    return path
