"""A tiny real HTTP/1.1 server on loopback serving canned responses, for the provider tests.

No mocks: the clients talk TCP to this server exactly as they would to a provider. Each canned
response is a list of body parts written as separate chunks (so a test can split an SSE frame
anywhere), optional sleeps between them, and faults: cut the connection mid-body or hang.
Imported by the ``test_providers_*`` modules (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from core.events.base import Event


@dataclasses.dataclass
class Canned:
    """One response. ``parts`` items are bytes (one chunk each) or floats (seconds to sleep)."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    parts: list[bytes | float] = dataclasses.field(default_factory=list)
    content_type: str = "text/event-stream"
    cut: bool = False
    """Close the connection after the parts without ending the chunked body."""
    delay_headers: float = 0.0
    """Seconds to wait before sending the status line (a server that never answers)."""


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class CannedServer:
    """Serves queued :class:`Canned` responses in order; records every request."""

    def __init__(self) -> None:
        self.queue: list[Canned] = []
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, canned: Canned | None = None, /, **kwargs: Any) -> Canned:
        item = canned or Canned(**kwargs)
        self.queue.append(item)
        return item

    async def start(self) -> CannedServer:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(method, path, headers, body))
                canned = self.queue.pop(0) if self.queue else Canned(500, parts=[b"no canned response"])
                if not await self._respond(writer, canned):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # a cancelled handler ends quietly: asyncio logs a handler task that "failed"
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _respond(self, writer: asyncio.StreamWriter, canned: Canned) -> bool:
        if canned.delay_headers:
            await asyncio.sleep(canned.delay_headers)
        head = [f"HTTP/1.1 {canned.status} X", f"content-type: {canned.content_type}",
                "transfer-encoding: chunked"]
        head += [f"{k}: {v}" for k, v in canned.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        for part in canned.parts:
            if isinstance(part, float):
                await asyncio.sleep(part)
                continue
            if part:
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
        if canned.cut:
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


@pytest.fixture
async def server() -> AsyncIterator[CannedServer]:
    srv = await CannedServer().start()
    try:
        yield srv
    finally:
        await srv.aclose()


def free_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anthropic_sse(events: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def openai_sse(chunks: Iterable[dict[str, Any] | str]) -> bytes:
    return b"".join(
        f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks
    )


def split_every(data: bytes, size: int) -> list[bytes | float]:
    return [data[i:i + size] for i in range(0, len(data), size)]


class Recorder:
    """A ``publish`` callable that keeps the events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]
