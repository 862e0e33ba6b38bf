"""The engine against a real HTTP server on loopback: real sockets, real clocks.

The built-in simulator (``core.sim``) was not ready when these were written, so the file carries
its own scripted server (a few lines of asyncio) and a minimal httpx client that raises the
provider error contract (``core.provider_errors``) exactly as the real clients do.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from core.events.base import Event
from core.provider_errors import ProviderConnectionError, ProviderHTTPError, ProviderTimeoutError
from core.retry import AttemptContext, ErrorClass, NonRetryable, RetryEngine, RetryFailed, RetryPolicy


class ScriptServer:
    """HTTP/1.1 server answering request n with ``script[n]`` (then ``ok``, or random faults).

    Tokens: ``ok``; ``<status>`` with optional ``:retry-after=S`` / ``:retry-after-ms=MS``;
    ``reset`` (200 headers, part of the body, then the connection closes); ``hang``.
    """

    def __init__(self, script: list[str], *, fault_rate: float = 0.0, seed: int = 0) -> None:
        self.script = list(script)
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ScriptServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:  # hung handlers must not outlive the test
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def _next(self) -> str:
        n = self.requests
        self.requests += 1
        if n < len(self.script):
            return self.script[n]
        if self.rng.random() < self.fault_rate:
            return self.rng.choice(["429:retry-after-ms=30", "500", "529", "503", "reset", "hang"])
        return "ok"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                token = self._next()
                kind, _, hint = token.partition(":")
                if kind == "hang":
                    await asyncio.sleep(3600)
                if kind == "reset":
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
                    await writer.drain()
                    writer.close()
                    return
                status, body = (200, b'{"ok":true}') if kind == "ok" else (int(kind), b'{"error":"scripted"}')
                extra = f"{hint.split('=')[0]}: {hint.split('=')[1]}\r\n" if hint else ""
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


async def post(client: httpx.AsyncClient, url: str, ctx: AttemptContext, per_try_s: float = 5.0) -> dict[str, object]:
    """One provider call, mapping transport outcomes onto the provider error contract."""
    try:
        response = await client.post(url, json={"attempt": ctx.attempt}, timeout=ctx.timeout(per_try_s))
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderConnectionError(str(exc) or "connect failed", provider="loop", request_sent=False) from exc
    except httpx.TimeoutException as exc:
        raise ProviderTimeoutError("read timed out", provider="loop") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ProviderConnectionError(f"connection closed mid-response: {exc}", provider="loop") from exc
    if response.status_code >= 400:
        raise ProviderHTTPError(response.text, provider="loop", status=response.status_code, headers=response.headers)
    return response.json()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


POLICY = RetryPolicy.default().with_(attempts=4, min_delay_ms=50, max_delay_ms=500, jitter=0.5,
                                     rate_limit_attempts=None, budget=None, name="loop")


async def test_retry_after_2_is_a_hard_floor_on_the_wire(client: httpx.AsyncClient) -> None:
    events: list[Event] = []
    engine = RetryEngine(events.append)
    async with ScriptServer(["429:retry-after=2"]) as server:
        out = await engine.run_outcome(lambda ctx: post(client, server.base_url, ctx), policy=POLICY,
                                       operation="model:loop/x", provider="loop", idempotent=True)
    first, second = out.record.attempts
    assert first.status == 429 and first.retry_after_ms == 2000
    assert second.start_mono - first.end_mono >= 2.0
    assert second.slept_ms >= 2000 and first.planned_delay_ms >= 2000
    assert out.record.as_json()["attempts"][0]["retryAfterMs"] == 2000


async def test_reset_on_non_idempotent_send_is_not_retried(client: httpx.AsyncClient) -> None:
    engine = RetryEngine(lambda e: None)
    async with ScriptServer(["reset"]) as server:
        with pytest.raises(NonRetryable) as info:
            await engine.run(lambda ctx: post(client, server.base_url, ctx), policy=POLICY,
                             operation="telegram:sendMessage", provider="loop", idempotent=False)
        assert server.requests == 1
    assert info.value.error_class is ErrorClass.AMBIGUOUS
    assert "not safe to repeat" in str(info.value) and "telegram:sendMessage" in str(info.value)


async def test_connection_refused_is_retried_even_when_not_idempotent(client: httpx.AsyncClient) -> None:
    engine = RetryEngine(lambda e: None)
    async with ScriptServer([]) as server:
        url = server.base_url
    # The server is closed: every attempt is refused before anything was sent.
    with pytest.raises(RetryFailed) as info:
        await engine.run(lambda ctx: post(client, url, ctx), policy=POLICY.with_(attempts=3),
                         operation="telegram:sendMessage", provider="loop", idempotent=False)
    assert info.value.error_class is ErrorClass.CONNECTION_BEFORE_SEND and len(info.value.record.attempts) == 3


async def test_100_turns_with_30_percent_faults_complete_or_fail_classified(client: httpx.AsyncClient) -> None:
    events: list[Event] = []
    engine = RetryEngine(events.append)
    policy = POLICY.with_(attempts=5, min_delay_ms=20, max_delay_ms=200)

    async def turn(i: int, url: str) -> str:
        try:
            await engine.run(lambda ctx: post(client, url, ctx, per_try_s=0.3), policy=policy,
                             operation=f"turn-{i}", provider="loop", idempotent=True, deadline_ms=3000)
            return "ok"
        except RetryFailed as exc:
            assert exc.error_class is not None and exc.error_class is not ErrorClass.UNKNOWN
            return exc.error_class.value

    async with ScriptServer([], fault_rate=0.3, seed=7) as server:
        results = await asyncio.wait_for(asyncio.gather(*(turn(i, server.base_url) for i in range(100))), timeout=20)
    assert len(results) == 100 and results.count("ok") >= 90
    finished = [e for e in events if e.kind == "retry.finished"]
    assert len(finished) == 100
    assert any(e.kind == "retry.attempt" and e.outcome == "retry" for e in events)
