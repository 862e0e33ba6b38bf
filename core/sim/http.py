"""HTTP/1.1 over an asyncio stream pair with h11: just enough server, with the controls faults need.

An ASGI framework would hide exactly what the simulator must do on purpose: hold a request
without answering (``timeout``), reset the TCP connection in the middle of a 200 (``reset``),
and end a 200 stream with an error (``stream-error``). h11 keeps the protocol state (keep-alive,
chunked bodies, pipelining rules) while every byte and the socket stay in our hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Sequence

import h11

__all__ = ["ClientGone", "HttpConnection", "IncomingRequest", "RequestTooLarge"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest accepted body: Anthropic's Messages limit (docs/design/retry.md#anthropic-error-types)."""
READ_SIZE = 65_536
SERVER_HEADER = (b"server", b"clawtop-sim")

Headers = Sequence[tuple[str, str]]


class ClientGone(Exception):
    """The client closed or reset the connection while we were answering."""


class RequestTooLarge(Exception):
    """The body exceeded :data:`MAX_BODY_BYTES`."""


class IncomingRequest:
    """A request line, its headers (lower-case names) and the whole body."""

    __slots__ = ("body", "headers", "method", "path")

    def __init__(self, event: h11.Request, body: bytes) -> None:
        self.method = event.method.decode("ascii", "replace").upper()
        self.path = event.target.decode("ascii", "replace").split("?", 1)[0]
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        self.body = body


def _encode(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [SERVER_HEADER, *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)]


class HttpConnection:
    """One client connection: read requests, write responses, or drop it on purpose."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER)

    async def _event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self._reader.read(READ_SIZE)
            except ConnectionError:
                data = b""
            self._h11.receive_data(data)

    async def next_request(self) -> IncomingRequest | None:
        """The next complete request, or None when the client closed the connection.

        Raises ``h11.RemoteProtocolError`` for malformed HTTP and :class:`RequestTooLarge`.
        """
        event = await self._event()
        if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        body = bytearray()
        while True:
            part = await self._event()
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > MAX_BODY_BYTES:
                    raise RequestTooLarge
            elif isinstance(part, h11.EndOfMessage):
                return IncomingRequest(event, bytes(body))
            else:
                raise h11.RemoteProtocolError("connection closed in the middle of a request body")

    @property
    def can_respond(self) -> bool:
        """True while a response may still be started."""
        return self._h11.our_state is h11.SEND_RESPONSE

    async def _send(self, *events: h11.Event) -> None:
        data = b"".join(self._h11.send(event) or b"" for event in events)
        if self._writer.is_closing():
            raise ClientGone
        self._writer.write(data)
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise ClientGone from exc

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        """A complete response with a ``content-length``."""
        all_headers = [*headers, ("content-length", str(len(body)))]
        await self._send(h11.Response(status_code=status, headers=_encode(all_headers)), h11.Data(data=body),
                         h11.EndOfMessage())

    async def start(self, status: int, headers: Headers) -> None:
        """Start a response whose body follows in :meth:`send` calls (chunked unless the
        headers give a ``content-length``)."""
        await self._send(h11.Response(status_code=status, headers=_encode(headers)))

    async def send(self, data: bytes) -> None:
        """Part of the body started with :meth:`start`."""
        if data:
            await self._send(h11.Data(data=data))

    async def end(self) -> None:
        """End the body started with :meth:`start`."""
        await self._send(h11.EndOfMessage())

    def next_cycle(self) -> bool:
        """Ready the connection for the next request; False when it must close instead."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    async def flush(self) -> None:
        """Wait until everything written has left our buffer (so a reset cuts *after* it)."""
        transport = self._writer.transport
        for _ in range(200):
            if transport.is_closing() or transport.get_write_buffer_size() == 0:
                return
            await asyncio.sleep(0.005)

    def abort(self) -> None:
        """Reset the connection: ``SO_LINGER`` 0 makes the close send a TCP RST."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def wait_closed_by_client(self) -> None:
        """Block until the client gives up and closes (how ``timeout`` hangs). Anything the
        client sends meanwhile is discarded."""
        with contextlib.suppress(ConnectionError):
            while await self._reader.read(READ_SIZE):
                pass

    async def close(self) -> None:
        """Close politely (FIN); never raises."""
        writer = self._writer
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
