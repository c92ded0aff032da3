"""Hostile files, one test each: refused with a clear reason (or read) in bounded time and memory, nothing else harmed.

Memory is Python's heap as tracemalloc sees it (where bytes, decoded text and parsed records live); each bound
is far below what reading the file naively would cost. The 200 MB JSON array is scaled down to 24 MB here
and runs at full size under `make fuzz` (marked slow).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from app.corpus.importers import SkipFile, read_file, run_import
from app.errors import UserError
from app.formats import import_file
from app.formats.encoding import NotTextError
from inference.client import WorkerClient
from inference.models import inspect_gguf
from inference.protocol import ErrorCode, ModelError, WorkerError
from tests import corpus_files as files
from tests.fuzz_inputs import bounded, gguf_file, gguf_kv, gguf_string, zip_bytes

MIB = 2**20
GIB = 2**30


def _sparse(path: Path, size: int, head: bytes, tail: bytes) -> Path:
    """A file of `size` bytes that takes no disk: `head`, a hole, `tail` (one line of text, for a line reader)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(head)
        f.seek(size - len(tail))
        f.write(tail)
    return path


def test_a_1_gb_single_line_text_file_is_refused_before_a_byte_is_read(tmp_path: Path, home: Path) -> None:
    big = _sparse(tmp_path / "src" / "line.txt", GIB, b"a", b"z")
    (tmp_path / "src" / "good.txt").write_text("A good text beside it.", encoding="utf-8")
    reason = "larger (1,024 MiB) than the 256 MiB allowed for one file"
    with bounded(max_seconds=2, max_peak=MIB), pytest.raises(SkipFile, match=re.escape(reason)):
        list(read_file(big))
    with bounded(max_seconds=2, max_peak=MIB), pytest.raises(UserError, match=r"line.txt: it is larger \(1,024 MiB\) than the 64 MiB allowed"):
        import_file(big)
    report = run_import(home, [tmp_path / "src"], "c")
    assert report.imported == 1 and report.skipped == [(str(big.resolve()), reason)]  # the import went on past it


# -- zip bombs -------------------------------------------------------------------------------------------------
# Where each field is in a zip's local header and in its central directory entry, and its format.
_FIELDS = {"version": (4, 6, "<H"), "compressed": (18, 20, "<I"), "inflated": (22, 24, "<I")}


def _patch(data: bytes, name: str, **values: int) -> bytes:
    """A zip whose local and central headers for the entry `name` say `values` (version, compressed, inflated)."""
    out, key = bytearray(data), name.encode()
    for header, column in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 1)):
        start = next(i for i in range(len(out)) if out.startswith(header, i) and out.find(key, i, i + 64) > 0)
        for field, value in values.items():
            at, fmt = _FIELDS[field][column], _FIELDS[field][2]
            out[start + at : start + at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(out)


def _declare(data: bytes, name: str, size: int) -> bytes:
    return _patch(data, name, inflated=size)


def _book(text_entry: bytes, kind: str, real_docx: bytes, compression: int = zipfile.ZIP_DEFLATED) -> tuple[bytes, str]:
    """A .docx or .epub whose text entry (document.xml, the chapter) is `text_entry`; and that entry's name."""
    if kind == "docx":
        with zipfile.ZipFile(io.BytesIO(real_docx)) as archive:
            entries = [(n, text_entry if n == "word/document.xml" else archive.read(n)) for n in archive.namelist()]
        return zip_bytes(entries), "word/document.xml"
    container = b'<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>'
    package = (b'<package><manifest><item id="c" href="ch.xhtml" media-type="application/xhtml+xml"/></manifest>'
               b'<spine><itemref idref="c"/></spine></package>')
    entries = [("mimetype", b"application/epub+zip"), ("META-INF/container.xml", container), ("content.opf", package), ("ch.xhtml", text_entry)]
    return zip_bytes(entries, compression), "ch.xhtml"


@pytest.fixture(scope="module")
def real_docx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return files.write_docx(tmp_path_factory.mktemp("docx") / "real.docx").read_bytes()


@pytest.fixture(scope="module")
def inflating() -> bytes:
    return bytes(64 * MIB)  # zeros deflate about 1000:1


BOMBS = {
    "ratio": (lambda data, name: data, r"inflates \d+:1, past the 200:1 allowed \(a zip bomb\?\)"),
    "declared": (lambda data, name: _declare(data, name, 2**32 - 1), r"inflates to 4,09\d MiB, more than the 1,024 MiB allowed"),
    # Headers that claim 1,000 bytes of what inflates to 64 MiB: zipfile's read() would inflate all 64 MiB first.
    "lying": (lambda data, name: _declare(data, name, 1000), r"inflates past the 1,000 bytes its header declares \(a zip bomb\?\)"),
    # Found fuzzing: zipfile asks for an entry's whole compressed size in one read, which Python allocates first.
    "compressed-claim": (lambda data, name: _patch(data, name, compressed=2**30), r"claims 1,024 MiB of compressed data, more than the file holds"),
    # Found fuzzing: zipfile raises NotImplementedError for a zip version it does not know.
    "version": (lambda data, name: _patch(data, name, version=64), r"zip file version 6.4|NotImplementedError"),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
@pytest.mark.parametrize("kind", ["docx", "epub"])
def test_zip_bombs_and_lying_headers_are_refused_without_inflating(tmp_path: Path, real_docx: bytes, inflating: bytes, kind: str, bomb: str) -> None:
    data, name = _book(inflating, kind, real_docx)
    damage, reason = BOMBS[bomb]
    path = tmp_path / f"bomb.{kind}"
    path.write_bytes(damage(data, name))
    with bounded(max_seconds=5, max_peak=16 * MIB):
        with pytest.raises(SkipFile, match=reason):
            list(read_file(path))
        if kind == "docx":  # a document imported into the desk goes through the same limits
            with pytest.raises(UserError, match=reason):
                import_file(path)


# -- text, HTML, JSON ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    b"caf\xe9 au lait, na\xefve fa\xe7ade. " * 2000,  # Windows-1252 prose: read as that
    b"\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc " * 20000,  # invalid UTF-8 sequences of every length
    "床前明月光，疑是地上霜。".encode()[:-1] * 5000,  # UTF-8 cut inside a character, again and again
    bytes(range(128, 256)) * 16000,  # 2 MB of high bytes
], ids=["cp1252", "invalid-sequences", "cut-characters", "high-bytes"])
def test_invalid_utf8_is_read_in_a_legacy_encoding_or_refused_as_not_text(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with bounded(max_seconds=10, max_peak=64 * MIB):
        try:
            (record,) = read_file(path)
        except NotTextError as refused:
            assert "looks like a binary file" in str(refused)
            return
    assert record.body and record.encoding != "UTF-8"


@pytest.mark.parametrize("nesting", [b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000, b"<b>" * 100_000 + b"unclosed"])
def test_html_nested_100k_deep_is_refused_not_cut_short(tmp_path: Path, nesting: bytes) -> None:
    page = b"<html><body><p>Intro</p>" + nesting + b"<p>Outro</p></body></html>"
    path = tmp_path / "deep.html"
    path.write_bytes(page)
    book, _ = _book(page, "epub", b"", zipfile.ZIP_STORED)  # stored: deflated, 100k <div>s would be a zip bomb
    (tmp_path / "deep.epub").write_bytes(book)
    for hostile in (path, tmp_path / "deep.epub"):
        with bounded(max_seconds=5, max_peak=32 * MIB), pytest.raises(SkipFile, match="nests elements more than 256 deep"):
            list(read_file(hostile))


def _write_array(path: Path, values: int) -> Path:
    """A JSON array of `values` zeros, written a megabyte at a time."""
    chunk = b"0," * (MIB // 2)
    with path.open("wb") as f:
        f.write(b"[")
        for _ in range(values // (MIB // 2)):
            f.write(chunk)
        f.write(b"0]")
    return path


@pytest.mark.parametrize("megabytes", [24, pytest.param(200, marks=pytest.mark.slow)])
def test_a_huge_json_array_is_refused_by_a_count_before_parsing(tmp_path: Path, megabytes: int) -> None:
    path = _write_array(tmp_path / "huge.json", megabytes * MIB // 2)
    # Parsed, these zeros would take ~8 bytes each in a list (24 MB: ~100 MB; 200 MB: ~840 MB, and ~40 bytes a
    # value for objects); refused, the cost is the file's bytes and its text, once each, and a trial decode.
    with bounded(max_seconds=60, max_peak=3 * megabytes * MIB + 8 * MIB):
        with pytest.raises(SkipFile, match=r"may hold up to [\d,]+ values, more than the 4,000,000 one file may hold; split it"):
            list(read_file(path))


@pytest.mark.parametrize("name, data, reason", [
    ("deep.json", b'[{"body": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]", "nested too deeply"),
    ("deep.jsonl", b'{"body": "a"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    ("many.jsonl", b"{}\n" * 4_500_000, r"may hold up to 9,000,001 values"),
    ("many.csv", b"body\n" + b"a\n" * 4_500_000, r"may hold up to 4,500,002 cells"),
])
def test_deep_or_numberless_records_are_refused(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with bounded(max_seconds=10, max_peak=3 * len(data) + 8 * MIB), pytest.raises(SkipFile, match=reason):
        list(read_file(path))


# -- PDF -------------------------------------------------------------------------------------------------------
def _pdf(content_stream: bytes) -> bytes:
    """A one-page PDF whose page content is this FlateDecode stream."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content_stream), content_stream),
    ]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, 2)
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _deflated_spaces(size: int) -> bytes:
    """A text operator, then `size` spaces, deflated a megabyte at a time (never all in memory)."""
    deflate = zlib.compressobj(9)
    parts = [deflate.compress(b"BT /F1 12 Tf 72 720 Td (x) Tj ET ")]
    parts += [deflate.compress(b" " * MIB) for _ in range(size // MIB)]
    return b"".join(parts) + deflate.flush()


def test_a_pdf_without_a_text_layer_and_a_pdf_stream_bomb_are_refused(tmp_path: Path) -> None:
    scan = files.write_scanned_pdf(tmp_path / "scan.pdf")
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(_pdf(_deflated_spaces(200 * MIB)))  # 200 MB of page content in ~200 KB
    with bounded(max_seconds=10, max_peak=MIB * 8), pytest.raises(SkipFile, match=r"no text layer \(scanned\?\): run it through OCR"):
        list(read_file(scan))
    # pypdf stops inflating a stream at 75 MB: what it held by then is the bound.
    with bounded(max_seconds=10, max_peak=200 * MIB), pytest.raises(SkipFile, match="inflates past what is read"):
        list(read_file(bomb))


# -- GGUF ------------------------------------------------------------------------------------------------------
_ARCH = gguf_kv("general.architecture", 8, gguf_string("llama"))
ABSURD_GGUF = {
    "string-2^60": (gguf_file([_ARCH, struct.pack("<Q", 2**60) + b"key"]), "implausible string length"),
    "array-2^62": (gguf_file([_ARCH, gguf_kv("a", 9, struct.pack("<IQ", 4, 2**62))]), r"an array of 4,611,686,018,427,387,904 values claims more than the file holds"),
    "strings-2^62": (gguf_file([_ARCH, gguf_kv("a", 9, struct.pack("<IQ", 8, 2**62))]), r"an array \(4,611,686,018,427,387,904\) claims more than the file holds"),
    "tensors-2^40": (gguf_file([_ARCH], n_tensors=2**40), r"its tensor count \(1,099,511,627,776\) claims more than the file holds"),
    "keys-2^40": (gguf_file([_ARCH], n_kv=2**40), r"its count of metadata keys \(1,099,511,627,776\) claims more"),
    "dims-2^32": (gguf_file([_ARCH], [gguf_string("t") + struct.pack("<I", 2**32 - 1)]), r"a tensor of 4,294,967,295 dimensions"),
    "nested-arrays": (gguf_file([_ARCH, gguf_kv("a", 9, struct.pack("<IQ", 9, 1) * 5000)]), "arrays nested more than 4 deep"),
    "alignment-0": (gguf_file([_ARCH, gguf_kv("general.alignment", 4, struct.pack("<I", 0))]), r"general.alignment is 0"),
}


@pytest.fixture(scope="module")
def absurd_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("absurd")
    for name, (data, _) in ABSURD_GGUF.items():
        (folder / f"{name}.gguf").write_bytes(data)
    return {name: folder / f"{name}.gguf" for name in ABSURD_GGUF}


@pytest.mark.parametrize("name", list(ABSURD_GGUF))
def test_a_gguf_claiming_absurd_sizes_is_refused_at_once(absurd_models: dict[str, Path], name: str) -> None:
    with bounded(max_seconds=1, max_peak=MIB), pytest.raises(ModelError) as refused:
        inspect_gguf(absurd_models[name], sha256="-")
    assert refused.value.code == ErrorCode.TRUNCATED_MODEL
    assert re.search(ABSURD_GGUF[name][1], str(refused.value))
    assert "download or copy it again" in str(refused.value)


def test_the_worker_refuses_absurd_models_and_goes_on_serving(home: Path, absurd_models: dict[str, Path]) -> None:
    with WorkerClient(home=home, backend="fake") as client:
        for path in absurd_models.values():
            with pytest.raises(WorkerError) as refused:
                client.call("load_model", model=str(path), timeout=30)
            assert refused.value.code == ErrorCode.TRUNCATED_MODEL
        assert client.call("hello", timeout=30)["protocol"] == 1
