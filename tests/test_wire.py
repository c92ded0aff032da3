"""What both worker clients share, without a process: whole lines from any split of the bytes, and one ending per request id."""

from __future__ import annotations

import logging

from inference.protocol import Done, Error, ErrorCode, Token, to_line
from inference.wire import LineBuffer, Router, gone_message, read_event

LINES = [to_line(Token("q1", "敏捷的狐狸")), to_line(Token("q1", " jumps")), to_line(Done("q1", {"output": "敏捷的狐狸 jumps"}))]


def test_every_split_of_the_bytes_gives_the_same_whole_lines() -> None:
    data = "".join(LINES).encode()
    for cut in range(len(data) + 1):  # every cut: mid-line, and mid-character inside the three-byte CJK ones
        lines = LineBuffer()
        assert lines.feed(data[:cut]) + lines.feed(data[cut:]) == [line.rstrip("\n") for line in LINES]


def test_a_last_line_without_newline_comes_out_at_close() -> None:
    lines = LineBuffer()
    assert lines.feed("tail 敏".encode()[:-1]) == []
    assert lines.close() == ["tail \ufffd"]  # a character cut off by the end of the stream is replaced, not raised
    assert lines.close() == []


def test_lines_that_are_not_protocol_are_logged_and_skipped(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="inference.wire"):
        events = [read_event(line) for line in ("llama.cpp says hi", "{not json", '{"kind": "bogus"}', '{"id": "q1", "op": "hello"}', "  ")]
    assert events == [None] * 5
    assert len(caplog.records) == 4  # the blank line is no news


def test_each_id_ends_exactly_once() -> None:
    router, seen = Router(), []
    router.open("q1", seen.append)
    router.open("q2", seen.append)
    router.route_lines([LINES[0].rstrip("\n"), "junk", LINES[2].rstrip("\n")])
    assert not router.route(Done("q1"))  # a second terminal event for q1 goes nowhere
    assert not router.route(Token("q9", "x"))  # nor does an event for an id never opened
    router.end_all(ErrorCode.WORKER_DIED, gone_message(ErrorCode.WORKER_DIED, "exit code 9"))
    router.end_all(ErrorCode.WORKER_DIED, "again")
    assert [type(e).__name__ + ":" + e.id for e in seen] == ["Token:q1", "Done:q1", "Error:q2"]
    assert isinstance(seen[2], Error) and "stopped unexpectedly (exit code 9)" in seen[2].message
    assert "q1" not in router and "q2" not in router


def test_a_handler_may_open_the_next_request() -> None:
    router, seen = Router(), []
    router.open("q1", lambda e: router.open("q2", seen.append))
    router.route(Done("q1"))
    router.end_all(ErrorCode.WORKER_START_FAILED, gone_message(ErrorCode.WORKER_START_FAILED, "no such file"))
    assert seen[0].code == ErrorCode.WORKER_START_FAILED and "could not start (no such file)" in seen[0].message
