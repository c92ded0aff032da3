"""Record files: CSV (a header row, each row a text) and JSON / JSON Lines (each object a text), by a field mapping.

A mapping names the key each text field is read from: {"title": "title", "author": "author", "body": "paragraphs"}.
A body (or any field) may be a list, as in the chinese-poetry corpus: its lines are joined with newlines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from app.corpus.importers.base import ReadOptions, SkipFile
from app.corpus.importers.text import decode_file
from app.corpus.records import TextRecord
from app.errors import UserError

FIELDS = ("title", "author", "body", "collection", "date")
# Keys a field is guessed from, best first, compared without case. `rhythmic` is the title of a ci poem
# (词牌名) in chinese-poetry; a dynasty is the nearest thing to a date its records have.
_KEY_NAMES = {
    "title": ("title", "name", "heading", "rhythmic", "标题", "標題", "题目", "題目", "篇名"),
    "author": ("author", "authors", "creator", "writer", "poet", "by", "作者"),
    "body": ("body", "text", "content", "contents", "paragraphs", "paragraph", "lines", "poem", "fulltext",
             "full_text", "正文", "内容", "內容"),
    "collection": ("collection", "book", "volume", "source", "section", "chapter", "卷", "集"),
    "date": ("date", "year", "published", "time", "dynasty", "年代", "朝代"),
}
_JOIN = {"body": "\n", "author": ", "}
_SAMPLE = 50  # records a guessed mapping looks at
_FIELD_LIMIT = 2**31 - 1  # the largest the csv module takes on every platform (a C long)
_CSV_MARKS = (",", ";", "\t", "|", "\n")  # the delimiters csv_rows sniffs, and line breaks
_JSON_MARKS = (",", "[", "{", "\n")


def read_csv(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """Each row of a CSV file with a header row as one text."""
    return _read(path, options, "csv")


def read_json(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """Each object of a JSON array (or of the array an object holds) as one text."""
    return _read(path, options, "json")


def read_jsonl(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """Each object of a JSON Lines file (one object a line) as one text."""
    return _read(path, options, "jsonl")


def sample_objects(path: Path, fmt: str, options: ReadOptions, n: int = 5) -> list[dict]:
    """The first `n` records of a csv/json/jsonl file as they are, for a mapping dialog to show their keys."""
    return _objects(decode_file(path, options).text, fmt, options)[:n]


def check_fields(fields: dict[str, str | None]) -> dict[str, str]:
    """A field mapping with its unmapped fields dropped; UserError for a field name that is not a text field."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise UserError(f"Unknown field {unknown[0]!r} in the field mapping; map only {', '.join(FIELDS)}.")
    return {name: key for name, key in fields.items() if key}


def _read(path: Path, options: ReadOptions, fmt: str) -> Iterator[TextRecord]:
    decoded = decode_file(path, options)
    fields = check_fields(options.fields) if options.fields else None
    yield from _records(path, _objects(decoded.text, fmt, options), fields, fmt, decoded.label)


def _objects(text: str, fmt: str, options: ReadOptions) -> list[dict]:
    _check_values(text, fmt, options.max_values)
    return csv_rows(text) if fmt == "csv" else jsonl_objects(text) if fmt == "jsonl" else json_objects(text)


def _check_values(text: str, fmt: str, limit: int) -> None:
    """SkipFile when a record file may hold more than `limit` values, counted before anything is parsed."""
    # Every JSON value but the first has a comma, bracket, brace or line break before it, and every CSV cell a
    # delimiter or a line break: counting those (in strings too) bounds the values from above, at C speed.
    marks = _CSV_MARKS if fmt == "csv" else _JSON_MARKS
    if (bound := 1 + sum(text.count(mark) for mark in marks)) > limit:
        what = "cells" if fmt == "csv" else "values"
        raise SkipFile(f"may hold up to {bound:,} {what}, more than the {limit:,} one file may hold; split it into smaller files")


def guess_fields(sample: dict | list[dict]) -> dict[str, str]:
    """A field mapping guessed from one or more records: keys named like a field, the longest text as the body."""
    records = [sample] if isinstance(sample, dict) else list(sample)
    keys = list(dict.fromkeys(key for record in records for key in record))
    by_name = {str(key).casefold(): key for key in keys}
    fields = {}
    for name, candidates in _KEY_NAMES.items():
        key = next((by_name[c] for c in candidates if c in by_name), None)
        if key is not None and key not in fields.values():
            fields[name] = key
    if "body" not in fields and (rest := [k for k in keys if k not in fields.values()]):
        fields["body"] = max(rest, key=lambda k: sum(len(_text(r.get(k), "\n")) for r in records))
    return fields


def csv_rows(text: str) -> list[dict]:
    """The rows of a CSV text as dicts keyed by its header row; the delimiter is sniffed (, ; tab |)."""
    # The csv module refuses fields past 128 KiB by default; a novel in one cell is a fair corpus row, and
    # the size cap per file already bounds what a field can cost.
    csv.field_size_limit(_FIELD_LIMIT)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or too little to tell: the usual commas
    try:
        return list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        raise SkipFile(f"not a readable CSV file ({exc})") from exc


def json_objects(text: str) -> list[dict]:
    """The objects of a JSON array, of the first array of objects a top-level object holds, or that object itself."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        if getattr(exc, "msg", "") == "Extra data":  # a second value after the first: JSON Lines named .json
            return jsonl_objects(text)
        raise _invalid("not valid JSON", exc) from exc
    if isinstance(value, dict):
        held = next((v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
        value = held if held is not None else [value]
    objects = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    if not objects:
        raise SkipFile("holds no JSON objects to import")
    return objects


def jsonl_objects(text: str) -> list[dict]:
    """The objects of a JSON Lines text, one a line; blank lines are allowed."""
    # Lines are read one by one (a list of them would cost as much again as the objects).
    objects = (_loads(line, f"line {n} is not valid JSON") for n, line in enumerate(io.StringIO(text), 1) if line.strip())
    return [v for v in objects if isinstance(v, dict)]


def _loads(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(what, exc) from exc


def _invalid(what: str, exc: Exception) -> SkipFile:
    if isinstance(exc, json.JSONDecodeError):
        return SkipFile(f"{what} ({exc.msg} at line {exc.lineno}, column {exc.colno})")
    return SkipFile(f"{what}: nested too deeply to read")  # json's decoder recurses once per nesting level


def _records(
    path: Path, objects: list[dict], fields: dict[str, str] | None, fmt: str, encoding: str
) -> Iterator[TextRecord]:
    """TextRecords of the objects that have text in their body field, numbered by their place in the file."""
    if not objects:
        raise SkipFile("holds no records")
    fields = fields or guess_fields(objects[:_SAMPLE])
    if "body" not in fields:
        raise SkipFile("no field to read the text from: map one as the body")
    found = 0
    for n, obj in enumerate(objects, 1):
        values = {name: _text(obj.get(key), _JOIN.get(name, " ")) for name, key in fields.items()}
        if not values["body"]:
            continue
        found += 1
        title = values.pop("title", "") or f"{path.stem} #{n}"
        yield TextRecord(title=title, **values, source_path=f"{path}#{n}", encoding=encoding, format=fmt)
    if not found:
        raise SkipFile(f"no record has text in its {fields['body']!r} field")


def _text(value: object, separator: str) -> str:
    """A field's value as text: lists (of lists ...) flattened and joined, objects and nulls dropped."""
    stack, parts = [value], []
    while stack:  # a loop, not recursion: a hostile file may nest lists thousands deep
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif item is not None and not isinstance(item, dict) and (text := str(item).strip()):
            parts.append(text)
    return separator.join(parts)
