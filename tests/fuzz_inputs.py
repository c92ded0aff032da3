"""Hypothesis strategies for hostile input: valid-ish files of every imported format, then mutated; and the profiles.

The strategies build what a reader expects (a zip with the right entries, XHTML, JSON records, a GGUF header)
and then damage it: bytes flipped, ranges cut, duplicated or overwritten with large numbers, so the fuzz
reaches the parsers' inner paths instead of failing at the first magic number.

Profiles: `suite` (the default) runs a few dozen examples per test, derandomized and with no example
database, so CI sees the same inputs every run; `fuzz` (SCRIPTORIUM_FUZZ=1, `make fuzz`) runs thousands,
random, remembering failures in .hypothesis/. SCRIPTORIUM_FUZZ_EXAMPLES overrides the count of either.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
import tracemalloc
import zipfile
from contextlib import contextmanager

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZING = bool(os.environ.get("SCRIPTORIUM_FUZZ"))
_EXAMPLES = int(os.environ.get("SCRIPTORIUM_FUZZ_EXAMPLES", "0"))
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "suite", max_examples=_EXAMPLES or 40, derandomize=True, database=None, deadline=None, suppress_health_check=_SLOW_OK
)
settings.register_profile(
    "fuzz", max_examples=_EXAMPLES or 3000, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
settings.load_profile("fuzz" if FUZZING else "suite")

# One example may take this long and allocate this much on Python's heap (inputs are at most ~200 KB):
# far above what a sane parse costs, far below a hang or an inflated bomb.
MAX_SECONDS = 10.0
MAX_PEAK_BYTES = 64 * 1024 * 1024


@contextmanager
def bounded(max_seconds: float = MAX_SECONDS, max_peak: int = MAX_PEAK_BYTES):
    """Fail when the block takes longer than `max_seconds` or its Python allocations peak past `max_peak` bytes."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        elapsed = time.monotonic() - started
        assert elapsed < max_seconds, f"took {elapsed:.1f} s"
        assert peak < max_peak, f"allocated {peak / 2**20:.0f} MiB at its peak"


# -- damage --------------------------------------------------------------------------------------------------
_BIG_NUMBERS = [2**31 - 1, 2**32 - 1, 2**40, 2**60, 2**62, 2**63 - 1, 2**64 - 1, 0]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes], max_edits: int = 4) -> bytes:
    """`base` damaged by a few edits: a byte set, a range cut or doubled, a large number written over, a tail lost."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, max_edits))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["set", "cut", "double", "number", "truncate"]))
        if edit == "set":
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif edit == "double":
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
        elif edit == "number":
            data[at : at + 8] = struct.pack("<Q", draw(st.sampled_from(_BIG_NUMBERS)))
        else:
            del data[at:]
    return bytes(data)


# -- text ----------------------------------------------------------------------------------------------------
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "big5", "shift_jis", "cp1252", "latin-1"]
_PROSE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=400) | st.sampled_from(
    ["床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", "It was a bright cold day in April.\r\n\r\nThe clocks", "café naïve"]
)


@st.composite
def encoded_text(draw: st.DrawFn) -> bytes:
    """Prose in one of the encodings people's files come in (unencodable characters replaced)."""
    return draw(_PROSE).encode(draw(st.sampled_from(ENCODINGS)), "replace")


TEXT_BYTES = mutated(encoded_text()) | st.binary(max_size=2000)
MARKDOWN = st.lists(
    st.sampled_from(["# ", "## ", "- ", "  - ", "1. ", "> ", "```", "    ", "**", "*", "`", "[", "](", ")", "\n", "\n\n", "word ", "字"]),
    max_size=200,
).map("".join)


# -- HTML ----------------------------------------------------------------------------------------------------
_TAGS = ["p", "div", "span", "b", "pre", "br", "h1", "li", "ul", "table", "tr", "td", "script", "style", "nav", "title", "head", "body"]
_CHARSETS = ["utf-8", "gbk", "big5", "shift_jis", "latin-1", "utf-16", "rot13", "undefined", "zlib", "base64", "idna", "nonsense", ""]


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda tag, inner, close: f"<{tag}>{''.join(inner)}" + (f"</{tag}>" if close else ""),
                     st.sampled_from(_TAGS), st.lists(children, max_size=4), st.booleans())


_HTML_TEXT = st.sampled_from(["text ", "床前明月光，\n疑是地上霜。", "&amp;", "&#0;", "&bogus;", "<!-- c -->", "<?pi x?>", "\x00", "]]>"])
_HTML_BODY = st.recursive(_HTML_TEXT, _element, max_leaves=40)


@st.composite
def html_pages(draw: st.DrawFn) -> bytes:
    """A page with a declared charset (some no text encoding at all), nested markup, in some encoding."""
    charset = draw(st.sampled_from(_CHARSETS))
    head = draw(st.sampled_from(["<!DOCTYPE html>", '<?xml version="1.0" encoding="%s"?>' % charset, ""]))
    page = f'{head}<html><head><meta charset="{charset}"><title>T</title></head><body>{draw(_HTML_BODY)}</body></html>'
    return page.encode(draw(st.sampled_from(ENCODINGS)), "replace")


HTML_BYTES = mutated(html_pages(), max_edits=2)


# -- zips: .docx and .epub -----------------------------------------------------------------------------------
def zip_bytes(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


@st.composite
def _entries_mutated(draw: st.DrawFn, entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Real entries with one of them damaged, dropped or replaced by random XML."""
    entries = list(entries)
    at = draw(st.integers(0, len(entries) - 1))
    name, data = entries[at]
    change = draw(st.sampled_from(["damage", "drop", "replace", "keep"]))
    if change == "damage":
        entries[at] = (name, draw(mutated(st.just(data))))
    elif change == "drop":
        del entries[at]
    elif change == "replace":
        entries[at] = (name, draw(XML_BYTES))
    return entries


_XML_NAMES = st.sampled_from(["w:p", "w:r", "w:t", "w:tbl", "w:tr", "w:tc", "w:pPr", "w:numPr", "w:ilvl", "w:numId", "rootfile", "item", "itemref", "x"])
XML_BYTES = st.recursive(
    st.sampled_from(["", "text", "&amp;", "&e;", "<!DOCTYPE x [<!ENTITY e 'ee'>]>"]),
    lambda inner: st.builds(lambda n, kids: f"<{n} w:val='1'>{''.join(kids)}</{n}>", _XML_NAMES, st.lists(inner, max_size=3)),
    max_leaves=20,
).map(lambda body: ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                    f"<w:body>{body}</w:body></w:document>").encode())


def docx_strategy(real_docx: bytes) -> st.SearchStrategy[bytes]:
    """A real .docx with an entry damaged or replaced, the zip itself maybe damaged too."""
    with zipfile.ZipFile(io.BytesIO(real_docx)) as archive:
        entries = [(name, archive.read(name)) for name in archive.namelist()]
    return mutated(_entries_mutated(entries).map(zip_bytes), max_edits=1)


_HREFS = st.sampled_from(["ch1.xhtml", "../ch1.xhtml", "ch%201.xhtml#x", "/etc/passwd", "", "missing.xhtml", "ch1.xhtml"])


@st.composite
def epub_books(draw: st.DrawFn) -> bytes:
    """An EPUB whose manifest and spine point at chapters, outside the book, at nothing, or twice."""
    n = draw(st.integers(0, 4))
    hrefs = [draw(_HREFS) for _ in range(n)]
    items = "".join(f'<item id="c{i}" href="{h}" media-type="{draw(st.sampled_from(["application/xhtml+xml", "text/html", "image/png"]))}"/>' for i, h in enumerate(hrefs))
    spine = "".join(f'<itemref idref="c{draw(st.integers(0, n))}" linear="{draw(st.sampled_from(["yes", "no"]))}"/>' for _ in range(n))
    package = (f'<package xmlns="http://www.idpf.org/2007/opf"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
               f"<dc:title>{draw(_HTML_TEXT)}</dc:title></metadata><manifest>{items}</manifest><spine>{spine}</spine></package>")
    opf = draw(st.sampled_from(["OEBPS/content.opf", "content.opf", "../content.opf", ""]))
    container = f'<container><rootfiles><rootfile full-path="{opf}"/></rootfiles></container>'
    chapters = [("OEBPS/ch1.xhtml", draw(html_pages())), ("OEBPS/ch 1.xhtml", draw(html_pages()))]
    entries = [("mimetype", b"application/epub+zip"), ("META-INF/container.xml", container.encode()),
               ("OEBPS/content.opf", package.encode()), *chapters]
    return draw(mutated(_entries_mutated(entries).map(zip_bytes), max_edits=1))


# -- records: CSV, JSON, JSON Lines ---------------------------------------------------------------------------
_KEYS = st.sampled_from(["title", "author", "body", "paragraphs", "text", "date", "collection", "id", "作者", ""])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=30,
)
RECORDS = st.lists(st.dictionaries(_KEYS, JSON_VALUES, max_size=5), max_size=8)
JSON_BYTES = mutated(
    st.one_of(RECORDS, JSON_VALUES, st.builds(lambda r: {"poems": r}, RECORDS)).map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    max_edits=2,
) | st.sampled_from([b"[" * 5000, b"{\"a\":" * 5000, b"[1e999999]", b"NaN", b"\xef\xbb\xbf[]"])
JSONL_BYTES = mutated(
    st.lists(JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)), max_size=8).map(lambda lines: "\n".join(lines).encode()),
    max_edits=2,
)
_CELLS = st.text(st.sampled_from(list('ab,;\t|"\n\r字 =+-@\x00')), max_size=12)
CSV_BYTES = mutated(
    st.lists(st.lists(_CELLS, min_size=1, max_size=5).map(lambda row: ",".join(row)), max_size=10).map(lambda rows: "\n".join(rows).encode()),
    max_edits=2,
)


# -- GGUF headers ---------------------------------------------------------------------------------------------
def gguf_string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def gguf_kv(key: str, vtype: int, value: bytes) -> bytes:
    return gguf_string(key) + struct.pack("<I", vtype) + value


def gguf_file(kvs: list[bytes], tensors: list[bytes] = (), n_tensors: int | None = None, n_kv: int | None = None) -> bytes:
    """A GGUF v3 header of these key/value and tensor entries; the counts may claim other numbers than they hold."""
    counts = struct.pack("<IQQ", 3, len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv)
    return b"GGUF" + counts + b"".join(kvs) + b"".join(tensors)


_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


@st.composite
def gguf_value(draw: st.DrawFn, depth: int = 0) -> tuple[int, bytes]:
    """(value type, encoded value): a scalar, a string, or an array (of scalars, strings or arrays)."""
    vtype = draw(st.sampled_from([4, 5, 6, 7, 8, 10, 12, 9] if depth < 2 else [4, 8]))
    if vtype == 8:
        return vtype, gguf_string(draw(st.text(max_size=20)))
    if vtype == 9:
        etype_value = [draw(gguf_value(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
        etype = etype_value[0][0] if etype_value else 4
        items = b"".join(v for t, v in etype_value if t == etype)
        count = sum(1 for t, _ in etype_value if t == etype)
        return vtype, struct.pack("<IQ", etype, count) + items
    fmt = _SCALAR_FORMATS[vtype]
    value = draw(st.floats(width=32 if fmt == "<f" else 64) if fmt in ("<f", "<d") else st.integers(0, 2**(8 * struct.calcsize(fmt) - 1) - 1))
    return vtype, struct.pack(fmt, bool(value) if fmt == "<?" else value)


_GGUF_KEYS = st.sampled_from(["general.architecture", "general.alignment", "general.file_type", "general.parameter_count",
                              "llama.context_length", "tokenizer.chat_template", "tokenizer.ggml.tokens", "general.name"])


@st.composite
def gguf_headers(draw: st.DrawFn) -> bytes:
    """A GGUF v3 header: metadata of every value type, a few tensor entries, and some tensor data."""
    kvs = []
    for _ in range(draw(st.integers(0, 6))):
        vtype, value = draw(gguf_value())
        key = draw(_GGUF_KEYS) if draw(st.booleans()) else draw(st.text(max_size=12))
        kvs.append(gguf_kv(key, vtype, value))
    if draw(st.booleans()):
        kvs.append(gguf_kv("general.architecture", 8, gguf_string(draw(st.sampled_from(["llama", "gemma3", "nope"])))))
    tensors = []
    for i in range(draw(st.integers(0, 3))):
        dims = draw(st.lists(st.integers(1, 64), min_size=1, max_size=4))
        ttype = draw(st.sampled_from([0, 1, 2, 8, 12, 14, 99]))
        tensors.append(gguf_string(f"t{i}") + struct.pack(f"<I{len(dims)}Q", len(dims), *dims) + struct.pack("<IQ", ttype, 0))
    return gguf_file(kvs, tensors) + bytes(draw(st.integers(0, 4096)))


GGUF_BYTES = mutated(gguf_headers())

