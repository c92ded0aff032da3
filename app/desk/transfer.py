"""Import and export as jobs that open their own database connection, so they can run off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app import store
from app.formats import EXPORTERS, IMPORTERS, export_document, import_file

EXPORT_FILTERS = {
    "md": "Markdown (*.md)",
    "txt": "Plain text (*.txt)",
    "docx": "Word document (*.docx)",
    "odt": "OpenDocument text (*.odt)",
    "epub": "EPUB e-book (*.epub)",
}
IMPORT_FILTER = "Documents (*.md *.markdown *.txt *.docx)"


def export_filter() -> str:
    """The file dialog's filter string for export, one entry per format."""
    return ";;".join(EXPORT_FILTERS[k] for k in EXPORTERS if k in EXPORT_FILTERS)


def export_target(path: str, chosen_filter: str) -> tuple[Path, str]:
    """The path and format to export to: the extension typed wins, else the filter chosen (its extension added)."""
    target = Path(path)
    ext = target.suffix.lower().lstrip(".")
    if ext in EXPORTERS:
        return target, ext
    fmt = next((k for k, v in EXPORT_FILTERS.items() if v == chosen_filter), "md")
    return target.with_name(target.name + "." + fmt), fmt


def suggested_name(title: str, fmt: str = "md") -> str:
    """A file name made from a document title."""
    safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip() or "Untitled"
    return f"{safe}.{fmt}"


def export_job(home: Path, doc_id: int, path: Path, fmt: str) -> str:
    """Export one document (its stored text) to `path`; return the path written."""
    db = store.open_db(home)
    try:
        return str(export_document(store.get_document(db, doc_id), path, fmt))
    finally:
        db.close()


@dataclass(frozen=True)
class ImportDone:
    """What an import made: the new document, and the encoding its bytes were read as (None when not guessed)."""

    doc_id: int
    name: str
    encoding: str | None

    def message(self) -> str:
        return f"Imported {self.name}" + (f" (read as {self.encoding})." if self.encoding else ".")


def import_job(home: Path, path: Path) -> ImportDone:
    """Import a .md, .txt or .docx file as a new document."""
    imported = import_file(path)
    db = store.open_db(home)
    try:
        doc = store.create_document(db, imported.title, imported.body, imported.format, reason="import")
    finally:
        db.close()
    return ImportDone(doc.id, Path(path).name, imported.encoding)


def importable(path: Path) -> bool:
    return Path(path).suffix.lower().lstrip(".") in IMPORTERS
