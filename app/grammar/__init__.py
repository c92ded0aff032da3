"""Spelling and grammar checking with Harper, with no Qt: lints as plain values, paragraphs checked incrementally."""

from app.grammar.harper import DIALECTS, KINDS, Checker, Lint, apply, checker_for_thread, dialect_for_locale, kind_of, release_thread
from app.grammar.paragraphs import DocumentCheck, Paragraph, Report, has_words, ignore_key, is_english, split

__all__ = [
    "DIALECTS", "KINDS", "Checker", "DocumentCheck", "Lint", "Paragraph", "Report",
    "apply", "checker_for_thread", "dialect_for_locale", "has_words", "ignore_key", "is_english", "kind_of",
    "release_thread", "split",
]
