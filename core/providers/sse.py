"""Incremental Server-Sent Events parser (WHATWG "event stream" rules), bytes in, events out.

Both wire clients feed it raw network chunks as they arrive, so it must cope with anything TCP
does to a stream: a line split across chunks, a multi-byte UTF-8 character split across chunks,
``\\r\\n`` split between two chunks, bare ``\\r`` line ends, multi-line ``data:`` fields, ``:``
comment lines (keep-alives) and a BOM. Lines are decoded only once complete, so a split
character is never decoded half-way.

Rules kept from the spec: a blank line dispatches the pending event; an event with no ``data``
line is not dispatched; one space after the colon is dropped; unknown fields (``id``, ``retry``,
anything else) are ignored because neither provider API uses them. A pending event at end of
stream is discarded (:meth:`SSEParser.close` reports whether that happened).
"""

from __future__ import annotations

import dataclasses

__all__ = ["MAX_LINE_BYTES", "SSEError", "SSEEvent", "SSEParser"]

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A line longer than this without a line end is treated as a broken stream, not buffered on."""


class SSEError(ValueError):
    """The byte stream is not a valid event stream (bad UTF-8, an endless line)."""


@dataclasses.dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event:`` name ("message" when none was given) and data."""

    event: str
    data: str


class SSEParser:
    """Feed chunks with :meth:`feed`; each call returns the events completed by that chunk."""

    __slots__ = ("_buffer", "_data", "_event", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._event = ""
        self._pending_cr = False
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk`` and return the events it completed (often none or one)."""
        if self._pending_cr:
            # The previous chunk ended in "\r", already counted as a line end: a "\n" right
            # after it is the second half of the same "\r\n", not a blank line.
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._buffer:
            chunk = self._buffer + chunk
        lines = chunk.split(b"\n")
        self._buffer = lines.pop()
        if len(self._buffer) > MAX_LINE_BYTES:
            raise SSEError(f"a line exceeds {MAX_LINE_BYTES} bytes without a line end")
        if not self._started and lines:
            self._started = True
            if lines[0][:3] == b"\xef\xbb\xbf":
                lines[0] = lines[0][3:]
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = ""
                continue
            if line[0] == 0x3A:  # ":" comment / keep-alive
                continue
            field, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                self._data.append(value)
            elif field == b"event":
                self._event = _decode(value)
        return events

    def close(self) -> bool:
        """End of stream. Returns True when an incomplete event or line was left over (and
        discarded, as the SSE spec says)."""
        leftover = bool(self._buffer.strip()) or bool(self._data)
        self._buffer = b""
        self._data = []
        self._event = ""
        return leftover

    def _dispatch(self) -> SSEEvent:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        event = SSEEvent(self._event or "message", _decode(data))
        self._data = []
        self._event = ""
        return event


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SSEError(f"invalid UTF-8 at byte {exc.start} of a line: {raw[:80]!r}") from None
