"""Hostile input, fuzzed: every importer and the GGUF reader end each input in a result or their typed error, bounded.

Each reader is given valid-ish files of its format, mutated (tests/fuzz_inputs.py): a corpus reader gives
TextRecords or raises a UserError (SkipFile, NotTextError) with a reason; a document importer gives a
document or a UserError; the GGUF reader gives a header or GGUFFormatError, inspect_gguf a ModelInfo or a
ModelError. Any other exception, an example past 10 s or past 64 MiB of Python allocations fails. A few
dozen derandomized examples each here; `make fuzz` runs thousands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.corpus.importers import read_file
from app.corpus.records import TextRecord
from app.errors import UserError
from app.formats import import_file
from app.formats.encoding import NotTextError, decode_bytes
from app.formats.imported import Imported
from inference.gguf_meta import GGUFFormatError, read_header
from inference.models import ModelInfo, inspect_gguf
from inference.protocol import ModelError
from tests import corpus_files as files
from tests import fuzz_inputs as fuzz


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def real_docx(workdir: Path) -> bytes:
    return files.write_docx(workdir / "real.docx").read_bytes()


def corpus_reads(path: Path) -> None:
    """The corpus reader of `path` gives TextRecords with text, or refuses with a UserError; bounded."""
    with fuzz.bounded():
        try:
            records = list(read_file(path))
        except UserError as refused:
            assert str(refused), "a refusal says why"
            return
    assert records and all(isinstance(r, TextRecord) and isinstance(r.body, str) for r in records)


def document_imports(path: Path) -> None:
    """The document importer of `path` gives a document or refuses with a UserError; bounded."""
    with fuzz.bounded():
        try:
            document = import_file(path)
        except UserError as refused:
            assert str(refused)
            return
    assert isinstance(document, Imported) and isinstance(document.body, str)


def _at(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


@given(data=fuzz.TEXT_BYTES)
@example(data=b"\xff\xfe\x00")  # a UTF-16 BOM and half a character
@example(data=b"caf\xe9 \x80\x81\x82 \xc3")  # invalid UTF-8, cut inside a character
def test_text_is_decoded_or_refused_as_not_text(workdir: Path, data: bytes) -> None:
    with fuzz.bounded():
        try:
            decoded = decode_bytes(data, "f.txt")
        except NotTextError:
            return
    assert "\r" not in decoded.text and decoded.label
    corpus_reads(_at(workdir, "f.txt", data))
    document_imports(_at(workdir, "f.md", data))


@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=300))
def test_clean_utf8_and_utf16_with_a_bom_decode_to_the_same_text(text: str) -> None:
    for encoding in ("utf-8", "utf-16"):
        assert decode_bytes(text.encode(encoding), "f.txt").text == text


@given(data=st.one_of(fuzz.MARKDOWN.map(str.encode), fuzz.TEXT_BYTES))
def test_markdown_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "notes.md", data))


@given(data=fuzz.HTML_BYTES)
@example(data=b'<html><meta charset="rot13"><p>caf\xe9</p></html>')  # a codec that is no text encoding
@example(data=b'<html><meta charset="undefined"><p>caf\xe9</p></html>')  # a codec that refuses every byte
def test_html_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "page.html", data))


@given(data=st.data())
def test_docx_is_read_or_refused_as_a_corpus_text_and_as_a_document(workdir: Path, real_docx: bytes, data: st.DataObject) -> None:
    path = _at(workdir, "story.docx", data.draw(fuzz.docx_strategy(real_docx)))
    corpus_reads(path)
    document_imports(path)


@given(data=fuzz.epub_books())
def test_epub_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "book.epub", data))


@given(data=st.data())
def test_pdf_is_read_or_refused(workdir: Path, data: st.DataObject) -> None:
    seeds = [files.write_text_pdf(workdir / "t.pdf", ["Hello (world)", "Second"], title="T").read_bytes(),
             files.write_scanned_pdf(workdir / "s.pdf").read_bytes()]
    corpus_reads(_at(workdir, "paper.pdf", data.draw(fuzz.mutated(st.sampled_from(seeds), max_edits=3))))


@given(data=fuzz.JSON_BYTES)
def test_json_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "records.json", data))


@given(data=fuzz.JSONL_BYTES)
def test_jsonl_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "records.jsonl", data))


@given(data=fuzz.CSV_BYTES)
def test_csv_is_read_or_refused(workdir: Path, data: bytes) -> None:
    corpus_reads(_at(workdir, "rows.csv", data))


@given(data=fuzz.GGUF_BYTES)
def test_a_gguf_header_is_read_or_refused_as_damaged(workdir: Path, data: bytes) -> None:
    path = _at(workdir, "m.gguf", data)
    with fuzz.bounded():
        try:
            read_header(path)
        except GGUFFormatError as refused:
            assert str(refused)
        try:
            info = inspect_gguf(path, sha256="-")
        except ModelError as refused:
            assert refused.code and str(refused)
            return
    assert isinstance(info, ModelInfo) and isinstance(info.chat_template, (str, type(None)))
