"""Corpus readers: every format read from files the tests write, the field mapping, and hostile files refused with reasons."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.corpus.importers import ReadOptions, SkipFile, file_format, guess_fields, preview, read_file, sample
from app.formats.encoding import NotTextError
from tests import corpus_files as files


def _one(path: Path, options: ReadOptions | None = None):
    (record,) = read_file(path, options)
    return record


@pytest.mark.parametrize("text, encoding, label", [(files.GB18030_TEXT, "gb18030", "GB18030"), (files.BIG5_TEXT, "big5", "Big5")])
def test_text_files_in_chinese_legacy_encodings_are_decoded_and_named(tmp_path: Path, text: str, encoding: str, label: str) -> None:
    path = tmp_path / "登楼.txt"
    path.write_bytes(text.encode(encoding))
    record = _one(path)
    assert (record.title, record.body, record.encoding, record.format) == ("登楼", text, label, "txt")
    assert record.source_path == str(path)


def test_markdown_is_read_as_plain_text_titled_by_its_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Spring *Dawn*\n\nI slept **late**.\n\n- birds\n- rain\n", encoding="utf-8")
    record = _one(path)
    assert (record.title, record.format, record.encoding) == ("Spring Dawn", "md", "UTF-8")
    assert record.body == "Spring Dawn\n\nI slept late.\n\n- birds\n- rain\n"


def test_html_keeps_paragraphs_as_lines_and_drops_scripts_styles_and_navigation(tmp_path: Path) -> None:
    record = _one(files.write_html(tmp_path / "page.html"))
    assert (record.title, record.author, record.format) == ("The Page", "Web Author", "html")
    assert record.body.split("\n") == ["Heading", "First bold paragraph.", "床前明月光，疑是地上霜。", "one", "two"]


def test_html_without_a_title_takes_its_first_heading_and_its_declared_charset(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes('<html><head><meta charset="gbk"></head><body><h1>静夜思</h1><p>床前明月光</p></body></html>'.encode("gbk"))
    record = _one(path)
    assert (record.title, record.body, record.encoding) == ("静夜思", "静夜思\n床前明月光", "GBK")


def test_docx_is_read_through_the_word_importer_with_its_lists_and_author(tmp_path: Path) -> None:
    record = _one(files.write_docx(tmp_path / "story.docx"))
    assert (record.title, record.author, record.format) == ("A Word Title", "Ann Writer", "docx")
    assert record.body == "Chapter One\n\nIt was a bright cold day in April.\n\n1. first step\n2. second step\n"


def test_epub_chapters_come_in_spine_order_with_dublin_core_metadata(tmp_path: Path) -> None:
    chapters = [("ch 1.xhtml", "<h1>One</h1><p>Para one.</p>"), ("ch2.xhtml", "<p>Para two.</p><script>x()</script>")]
    record = _one(files.write_epub(tmp_path / "book.epub", chapters))
    assert (record.title, record.author, record.date, record.format) == ("A Book", "Bo Author", "1925-04-10", "epub")
    assert record.body == "One\nPara one.\n\nPara two."  # the nav (linear="no") and the script are left out


def test_pdf_text_layer_is_read_with_its_title(tmp_path: Path) -> None:
    record = _one(files.write_text_pdf(tmp_path / "paper.pdf", ["Hello (world)", "Second line"], title="On Things"))
    assert (record.title, record.body, record.format) == ("On Things", "Hello (world)\nSecond line", "pdf")


def test_json_records_with_a_list_body_are_texts_numbered_in_their_file(tmp_path: Path) -> None:
    path = files.write_json(tmp_path / "tang.json", files.poetry_records(3))
    records = list(read_file(path, ReadOptions(fields={"title": "title", "author": "author", "body": "paragraphs"})))
    assert [r.title for r in records] == ["诗0", "诗1", "诗2"]
    assert records[0].body == "第0首，床前明月光。\n举头望明月，低头思故乡。"
    assert (records[0].author, records[0].format, records[2].source_path) == ("李白", "json", f"{path}#3")


def test_jsonl_and_an_object_holding_an_array_read_alike(tmp_path: Path) -> None:
    poems = files.poetry_records(2)
    held = tmp_path / "held.json"
    held.write_text(json.dumps({"dynasty": "tang", "poems": poems}, ensure_ascii=False), encoding="utf-8")
    lines = files.write_jsonl(tmp_path / "lines.jsonl", poems)
    fields = {"body": "paragraphs"}
    bodies = [[r.body for r in read_file(path, ReadOptions(fields=fields))] for path in (held, lines)]
    assert bodies[0] == bodies[1] == ["第0首，床前明月光。\n举头望明月，低头思故乡。", "第1首，床前明月光。\n举头望明月，低头思故乡。"]
    assert [r.title for r in read_file(lines, ReadOptions(fields=fields))] == ["lines #1", "lines #2"]


def test_csv_rows_are_texts_by_their_header(tmp_path: Path) -> None:
    path = tmp_path / "letters.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = [("To Anne", "Jo", "Dear Anne, hello.", "1850"), ("To Bo", "Jo", "Dear Bo, bye.", "1851")]
        csv.writer(f, delimiter=";").writerows([("Title", "Writer", "Letter", "Year"), *rows])
    records = list(read_file(path))  # the delimiter sniffed, the fields guessed from the header
    assert [(r.title, r.author, r.body, r.date) for r in records] == rows


def test_guess_fields_maps_chinese_poetry_and_falls_back_to_the_longest_text() -> None:
    poem = {"title": "静夜思", "author": "李白", "paragraphs": ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]}
    assert guess_fields(poem) == {"title": "title", "author": "author", "body": "paragraphs"}
    assert guess_fields([{"id": "1", "words": "a long letter written here", "n": "3"}]) == {"body": "words"}


def test_sample_and_preview_serve_the_mapping_dialog(tmp_path: Path) -> None:
    path = files.write_jsonl(tmp_path / "poems.jsonl", files.poetry_records(8))
    assert sample(path, n=2) == files.poetry_records(2)
    shown = preview(path, {"title": "author", "body": "paragraphs"}, n=3)
    assert [r.title for r in shown] == ["李白"] * 3


def test_the_content_decides_where_the_extension_lies(tmp_path: Path) -> None:
    pdf = files.write_text_pdf(tmp_path / "report.txt", ["Not plain text"])
    docx_as_zip = files.write_docx(tmp_path / "story.zip")
    page = tmp_path / "saved.txt"
    page.write_text("<!DOCTYPE html><html><body><p>web</p></body></html>", encoding="utf-8")
    assert [file_format(p) for p in (pdf, docx_as_zip, page)] == ["pdf", "docx", "html"]
    assert _one(pdf).body == "Not plain text"


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda d: files.write_truncated_docx(d / "cut.docx", d), "not a readable .docx file .damaged or truncated"),
        (lambda d: files.write_zip_bomb_docx(d / "bomb.docx"), r"document.xml inflates \d+:1, past the 200:1 allowed"),
        (lambda d: files.write_scanned_pdf(d / "scan.pdf"), r"no text layer \(scanned\?\)"),
        (lambda d: _write(d / "bad.json", b'[{"body": "a"},'), r"not valid JSON \(Expecting value at line 1"),
        (lambda d: _write(d / "bad.jsonl", b'{"body": "a"}\n{oops}\n'), "line 2 is not valid JSON"),
        (lambda d: _write(d / "deep.json", b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
        (lambda d: _write(d / "empty.txt", b"  \n"), "empty"),
        (lambda d: _write(d / "nobody.json", b'[{"title": "x", "body": ""}]'), "no record has text in its 'body' field"),
        (lambda d: _write(d / "photo", b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256))), "a binary file, not a format"),
    ],
    ids=["truncated-docx", "zip-bomb", "scanned-pdf", "invalid-json", "invalid-jsonl", "deep-json", "empty", "no-body", "binary"],
)
def test_broken_and_hostile_files_are_refused_with_a_reason(tmp_path: Path, make, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        list(read_file(make(tmp_path)))


def test_a_binary_file_named_txt_is_refused_as_not_text(tmp_path: Path) -> None:
    with pytest.raises(NotTextError, match="looks like a binary file"):
        list(read_file(_write(tmp_path / "notes.txt", bytes(range(256)) * 8)))


def test_limits_refuse_a_file_too_large_and_a_zip_of_too_many_entries(tmp_path: Path) -> None:
    big = _write(tmp_path / "big.txt", b"word " * 1000)
    with pytest.raises(SkipFile, match=r"larger \(5,000 bytes\) than the 4,000 bytes allowed"):
        list(read_file(big, ReadOptions(max_bytes=4000)))
    with pytest.raises(SkipFile, match=r"a zip of \d+ entries, more than the 3 allowed"):
        list(read_file(files.write_docx(tmp_path / "a.docx"), ReadOptions(max_zip_entries=3)))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
