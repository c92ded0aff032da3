"""The small Markdown reader behind the exporters: blocks, emphasis runs, chapters, plain text."""

from __future__ import annotations

from app.formats.epub import guess_language, split_chapters
from app.formats.blocks import Run, blocks_html, parse_markdown, parse_runs, plain_blocks, to_plain_text


def test_runs() -> None:
    assert parse_runs("a **b** *c* ***d*** `e` snake_case_name __f__") == [
        Run("a "), Run("b", bold=True), Run(" "), Run("c", italic=True), Run(" "),
        Run("d", bold=True, italic=True), Run(" "), Run("e", code=True), Run(" snake_case_name "), Run("f", bold=True),
    ]
    assert parse_runs("2 * 3 * 4") == [Run("2 * 3 * 4")], "a lone asterisk between spaces is not emphasis"


def test_blocks() -> None:
    source = "# T\n\npara\nline\n- a\n  wrapped\n* b\n\n3) c\n\n> q1\n> q2\n\n```\n# not a heading\n```"
    kinds = [(b.kind, b.level, b.text) for b in parse_markdown(source)]
    assert kinds == [
        ("heading", 1, "T"), ("paragraph", 0, "para\nline"), ("bullet", 0, "a wrapped"), ("bullet", 0, "b"),
        ("ordered", 0, "c"), ("quote", 0, "q1\nq2"), ("code", 0, "# not a heading"),
    ]


def test_plain_text_is_not_read_as_markdown() -> None:
    assert [b.text for b in plain_blocks("# not\n\n\n*plain*\n")] == ["# not", "*plain*"]


def test_chapters_split_at_the_highest_heading_level() -> None:
    chapters = split_chapters("Book", parse_markdown("Preface.\n\n## One\n\n### Part\n\ntext\n\n## Two"))
    assert [name for name, _ in chapters] == ["Book", "One", "Two"]
    assert len(chapters[1][1]) == 3
    assert split_chapters("Empty", []) == [("Empty", [])]


def test_language_guess() -> None:
    assert guess_language("床前明月光，疑是地上霜。") == "zh"
    assert guess_language("The moon before my bed.") == "en"


def test_headings_as_commonmark_writes_them() -> None:
    kinds = [(b.kind, b.level, b.text) for b in parse_markdown("   ## Indented\n\n# C#\n\n#hashtag\n\n## Closed ##")]
    assert kinds == [("heading", 2, "Indented"), ("heading", 1, "C#"), ("paragraph", 0, "#hashtag"), ("heading", 2, "Closed")]


def test_nested_lists_keep_their_depth_and_numbers() -> None:
    source = "- a\n    - a1\n        3. deep\n        4. deeper\n  - a2\n- b\n\n5. five\n\n6. six\n    - sub\n7. seven"
    blocks = parse_markdown(source)
    assert [(b.kind, b.level, b.text) for b in blocks] == [
        ("bullet", 0, "a"), ("bullet", 1, "a1"), ("ordered", 2, "deep"), ("ordered", 2, "deeper"), ("bullet", 1, "a2"),
        ("bullet", 0, "b"), ("ordered", 0, "five"), ("ordered", 0, "six"), ("bullet", 1, "sub"), ("ordered", 0, "seven"),
    ]
    assert to_plain_text(blocks) == (
        "- a\n    - a1\n        3. deep\n        4. deeper\n    - a2\n- b\n\n5. five\n6. six\n    - sub\n7. seven\n"
    )
    assert blocks_html(parse_markdown("3. c\n4. d")) == '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'
