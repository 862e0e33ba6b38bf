"""The incremental SSE parser: every way TCP can cut a stream must give the same events."""

from __future__ import annotations

import pytest

from core.providers.sse import SSEError, SSEEvent, SSEParser

STREAM = (
    b"\xef\xbb\xbf: keep-alive comment\n"
    b"event: message_start\ndata: {\"a\": 1}\n\n"
    b"event: delta\ndata: line one\ndata: line two \xc3\xa9\xe2\x82\xac\n\n"
    b"data:no-space\n\n"
    b": ping\n\n"
    b"id: 7\nretry: 100\nevent: x\ndata\n\n"
    b"event: orphan-name-only\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent("message_start", '{"a": 1}'),
    SSEEvent("delta", "line one\nline two é€"),
    SSEEvent("message", "no-space"),
    SSEEvent("x", ""),
    SSEEvent("message", "[DONE]"),
]


def parse(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events = [e for chunk in chunks for e in parser.feed(chunk)]
    assert parser.close() is False
    return events


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings_all_parse_the_same(newline: bytes) -> None:
    assert parse([STREAM.replace(b"\n", newline)]) == EXPECTED


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_split_at_every_byte_position(newline: bytes) -> None:
    data = STREAM.replace(b"\n", newline)
    for cut in range(1, len(data)):
        assert parse([data[:cut], data[cut:]]) == EXPECTED, cut


def test_one_byte_chunks_with_crlf_split_between_chunks() -> None:
    data = STREAM.replace(b"\n", b"\r\n")
    assert parse([data[i:i + 1] for i in range(len(data))]) == EXPECTED


def test_multiline_data_in_crlf_split_across_cr_and_lf() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\ndata: y\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent("message", "x\ny")]
    assert parser.feed(b"\n") == []  # the LF of that CRLF is not a second blank line


def test_incomplete_event_at_end_is_reported_and_discarded() -> None:
    parser = SSEParser()
    assert parser.feed(b"event: a\ndata: half") == []
    assert parser.close() is True


def test_invalid_utf8_is_an_sse_error() -> None:
    with pytest.raises(SSEError, match="UTF-8"):
        SSEParser().feed(b"data: \xff\xfe\n\n")
