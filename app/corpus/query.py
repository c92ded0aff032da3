"""Search queries: the syntax users know, parsed and folded as the index is, rendered as an FTS5 MATCH expression.

Syntax: words and CJK runs, "quoted phrases", a trailing * for a prefix (word*, "two wor"*), AND, OR, NOT (in
capitals; NOT means "and not": a NOT b) and parentheses; terms side by side must all match. NOT binds tighter
than AND, AND tighter than OR, as in FTS5. Every fragment is folded and split like the shadow text
(app/corpus/shadow.py): 光疑是 becomes the phrase "光 疑 是", so one and two characters match, order is kept and
the original's punctuation does not get in the way; 說 finds 说 and 牀 finds 床. A fragment with no letters,
digits or CJK characters (a lone comma) stands for nothing and is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.corpus.fold import Fold, load_fold
from app.corpus.shadow import query_tokens
from app.errors import UserError

OPERATORS = ("AND", "OR", "NOT")
_LEXEME = re.compile(r'\s*(?:(?P<paren>[()])|"(?P<quoted>[^"]*)"(?P<qstar>\*?)|(?P<bare>[^\s()"]+))')


@dataclass(frozen=True)
class Phrase:
    """Tokens that must follow one another; with `prefix`, the last one may be the start of a longer token."""

    tokens: tuple[str, ...]
    prefix: bool = False

    def to_match(self) -> str:
        """This phrase in FTS5 syntax: every token quoted, so no token can be read as an operator."""
        return '"' + " ".join(self.tokens) + '"' + ("*" if self.prefix else "")

    def pattern(self) -> str:
        """A regular expression for this phrase in a shadow text, on token boundaries."""
        body = re.escape(" ".join(self.tokens)) + (r"\S*" if self.prefix else "")
        return rf"(?<!\S){body}(?!\S)"


@dataclass(frozen=True)
class Operation:
    """AND or OR of its terms, or NOT: the first term without any of the others."""

    operator: str
    terms: tuple[Phrase | Operation, ...]

    def to_match(self) -> str:
        """This operation in FTS5 syntax, parenthesised so precedence never depends on FTS5's rules."""
        return "(" + f" {self.operator} ".join(term.to_match() for term in self.terms) + ")"


Query = Phrase | Operation


def parse(text: str, fold: Fold | None = None) -> Query:
    """The query tree of a search string; UserError saying what is wrong with a malformed one."""
    parser = _Parser(_lex(text, fold or load_fold()))
    if not parser.lexemes:
        raise UserError("The search is empty: type a word, a phrase or a few characters.")
    query = parser.expression()
    if parser.peek() is not None:
        raise _malformed(f"{parser.peek()!r} is out of place (a parenthesis without its partner?)")
    return query


def to_match(query: str, fold: Fold | None = None) -> str:
    """The FTS5 MATCH expression of a search string over the shadow column."""
    return parse(query, fold).to_match()


def phrases(query: Query) -> list[Phrase]:
    """The phrases a matching text contains (those under NOT excluded): what find_all and snippets look for."""
    if isinstance(query, Phrase):
        return [query]
    terms = query.terms[:1] if query.operator == "NOT" else query.terms
    return [phrase for term in terms for phrase in phrases(term)]


def _lex(text: str, fold: Fold) -> list[str | Phrase]:
    """Parentheses and operators as strings, everything else as phrases of folded tokens."""
    lexemes: list[str | Phrase] = []
    position, text = 0, text.strip()
    while position < len(text):
        match = _LEXEME.match(text, position)
        if match is None:
            raise _malformed('a quotation mark is not closed: put a " at the end of the phrase')
        position = match.end()
        if match["paren"]:
            lexemes.append(match["paren"])
        elif match["bare"] in OPERATORS:
            if match["bare"] == "NOT" and lexemes[-1:] == ["AND"]:
                lexemes.pop()  # "a AND NOT b", which FTS5 refuses, means "a NOT b"
            lexemes.append(match["bare"])
        else:
            fragment, star = (match["quoted"], match["qstar"]) if match["bare"] is None else _star(match["bare"])
            tokens = query_tokens(fragment, fold)
            if tokens:
                lexemes.append(Phrase(tuple(tokens), prefix=bool(star)))
    return lexemes


def _star(bare: str) -> tuple[str, str]:
    stripped = bare.rstrip("*")
    return stripped, "*" if len(stripped) < len(bare) else ""


class _Parser:
    """Recursive descent over the lexemes: expression = and (OR and)*; and = not (AND? not)*; not = term (NOT term)*."""

    def __init__(self, lexemes: list[str | Phrase]) -> None:
        self.lexemes, self.position = lexemes, 0

    def peek(self) -> str | Phrase | None:
        return self.lexemes[self.position] if self.position < len(self.lexemes) else None

    def take(self) -> str | Phrase | None:
        lexeme = self.peek()
        self.position += 1
        return lexeme

    def expression(self) -> Query:
        return self._chain("OR", self.conjunction)

    def conjunction(self) -> Query:
        terms = [self.negation()]
        while (lexeme := self.peek()) is not None and lexeme not in ("OR", ")"):
            if lexeme == "AND":
                self.take()
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else Operation("AND", tuple(terms))

    def negation(self) -> Query:
        return self._chain("NOT", self.term)

    def term(self) -> Query:
        lexeme = self.take()
        if isinstance(lexeme, Phrase):
            return lexeme
        if lexeme == "(":
            inner = self.expression()
            if self.take() != ")":
                raise _malformed("a parenthesis is not closed")
            return inner
        if lexeme is None:
            raise _malformed("it ends where a word or phrase should follow")
        if lexeme == ")":
            raise _malformed("a ) comes where a word or phrase should be")
        raise _malformed(f'{lexeme} needs a word or phrase on each side (to search for the word, quote it: "{lexeme}")')

    def _chain(self, operator: str, operand) -> Query:
        terms = [operand()]
        while self.peek() == operator:
            self.take()
            terms.append(operand())
        return terms[0] if len(terms) == 1 else Operation(operator, tuple(terms))


def _malformed(reason: str) -> UserError:
    return UserError(f"The search cannot be read: {reason}.")
