"""The wire format: every message kind round-trips, and bad lines become readable BadRequest errors."""

from __future__ import annotations

import json

import pytest

from inference.protocol import (
    BadRequest,
    Done,
    Error,
    ErrorCode,
    ModelError,
    Progress,
    Request,
    Token,
    error_event,
    from_line,
    to_line,
)


@pytest.mark.parametrize(
    "message",
    [
        Request("r1", "generate", {"task": "continue", "text": "春眠不觉晓"}),
        Progress("r1", "load", 0.5, "Loading"),
        Token("r1", "晓", 2),
        Done("r1", {"output": "x", "stats": {"ttft_ms": 1.5}}),
        Error("r1", ErrorCode.CANCELLED, "Generation was stopped."),
    ],
)
def test_round_trip(message) -> None:
    line = to_line(message)
    assert line.endswith("\n") and line.count("\n") == 1
    assert from_line(line) == message


def test_newlines_in_text_stay_on_one_line() -> None:
    line = to_line(Token("a", "one\ntwo\n"))
    assert line.count("\n") == 1
    assert from_line(line).text == "one\ntwo\n"


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"kind": "bogus", "id": "x"}', '{"id": "x"}', '{"op": "hello"}'])
def test_bad_lines_raise_bad_request(line: str) -> None:
    with pytest.raises(BadRequest):
        from_line(line)


def test_error_event_keeps_codes_and_hides_nothing() -> None:
    assert error_event("a", ModelError("gone", code=ErrorCode.MODEL_NOT_FOUND)).code == ErrorCode.MODEL_NOT_FOUND
    assert error_event("a", MemoryError()).code == ErrorCode.OUT_OF_MEMORY
    internal = error_event("a", KeyError("k"))
    assert internal.code == ErrorCode.INTERNAL and "KeyError" in internal.message


def test_request_defaults_params() -> None:
    request = from_line(json.dumps({"kind": "request", "id": "1", "op": "hello"}))
    assert request == Request("1", "hello", {})
