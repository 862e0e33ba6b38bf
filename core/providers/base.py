"""``ProviderClient``: the call flow shared by both wire APIs.

A subclass only says how to build the request body, how to decode one SSE event, and how to read
a non-streamed reply; sending, deadlines, error mapping, rate-limit capture, timing (TTFT,
latency) and the per-call event live here once.

Clients **never retry**: the retry engine (``core.retry``) is the single retry owner. The one
exception is a *protocol fallback* a subclass may declare (:meth:`ProviderClient._fallback`, used
for servers that reject ``stream_options``): the request is resent once, changed, and the client
remembers not to send that field again.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any, ClassVar

import httpx

from core.deadline import scope_deadline
from core.events.base import Event
from core.provider_errors import ProviderError, ProviderProtocolError
from core.providers.events import CallStatus, ProviderCallFinished, ProviderRateLimits
from core.providers.ratelimits import RateLimitSnapshot, parse_rate_limits
from core.providers.sse import SSEError, SSEEvent, SSEParser
from core.providers.transport import HttpTransport, display_url
from core.providers.types import (
    ModelRequest,
    ModelResponse,
    RateLimits,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    Usage,
)

__all__ = ["Publish", "ProviderClient", "StreamDecoder", "collect"]

Publish = Callable[[Event], None]
DRAIN_S = 1.0
"""After the final event (``message_stop`` / ``[DONE]``), how long the rest of the body may take."""
_CONTENT = (TextDelta, ThinkingDelta, ToolCall)


class StreamDecoder(ABC):
    """Turns one call's SSE events into stream events; one instance per call."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.model: str | None = None
        self.done = False

    @abstractmethod
    def handle(self, event: SSEEvent) -> list[StreamEvent]:
        """Events produced by one SSE event (raise :class:`ProviderError` on a bad one)."""

    @abstractmethod
    def finish(self) -> list[StreamEvent]:
        """End of body: trailing events, or raise when the stream stopped short."""

    def fail(self, problem: str) -> ProviderProtocolError:
        """A protocol error naming the provider and the problem."""
        return ProviderProtocolError(problem, provider=self.provider)


class _Call:
    """Timing and bookkeeping of one HTTP call, and the ``provider.call`` event at its end."""

    __slots__ = ("client", "model", "streamed", "t0", "deadline", "http_status", "request_id",
                 "rate_limits", "ttft_ms", "fallback", "response_headers")

    def __init__(self, client: ProviderClient, model: str, streamed: bool, deadline: float | None) -> None:
        self.client = client
        self.model = model
        self.streamed = streamed
        self.t0 = time.monotonic()
        self.deadline = client._http.deadline(_earliest(deadline, scope_deadline()))
        self.http_status: int | None = None
        self.request_id: str | None = None
        self.rate_limits: RateLimitSnapshot | None = None
        self.ttft_ms: float | None = None
        self.fallback: str | None = None
        self.response_headers: httpx.Headers | None = None

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.t0) * 1000.0

    def headers(self, response: httpx.Response) -> None:
        """Record status, request id and rate limits; publish the rate limits."""
        self.http_status = response.status_code
        headers = self.response_headers = response.headers
        self.request_id = headers.get("request-id") or headers.get("x-request-id")
        snapshot = parse_rate_limits(self.client.id, headers)
        self.rate_limits = snapshot
        publish = self.client._publish
        if snapshot is not None and publish is not None:
            publish(ProviderRateLimits.from_snapshot(snapshot, model=self.model, http_status=response.status_code))

    def finished(self, status: CallStatus, *, error: BaseException | None = None,
                 decoder_or_usage: StreamDecoder | Usage | None = None, stop_reason: str | None = None) -> float:
        latency = self.elapsed_ms()
        publish = self.client._publish
        if publish is None:
            return latency
        usage = decoder_or_usage.usage if isinstance(decoder_or_usage, StreamDecoder) else decoder_or_usage
        usage = usage or Usage()
        perr = error if isinstance(error, ProviderError) else None
        publish(ProviderCallFinished(
            provider=self.client.id, api=self.client.api, model=self.model, status=status,
            streamed=self.streamed,
            http_status=perr.status if perr is not None and perr.status is not None else self.http_status,
            error=type(error).__name__ if error is not None else None,
            error_type=perr.error_type if perr is not None else None,
            request_sent=perr.request_sent if perr is not None else None,
            after_first_token=perr.after_first_token if perr is not None else False,
            ttft_ms=self.ttft_ms, latency_ms=latency,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
            usage_estimated=usage.estimated, stop_reason=stop_reason,
            request_id=self.request_id, fallback=self.fallback,
        ))
        return latency


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


class ProviderClient(ABC):
    """One provider endpoint speaking one wire API, with its own connection pool.

    A call ends by the earliest of: its own ``timeoutMs`` deadline, the optional ``deadline``
    argument (absolute ``time.monotonic()`` seconds) and the running retry attempt's deadline
    (``core.deadline.current_scope().remaining()``, set by the retry engine), so nothing outlives
    its retry owner. Before that, a streamed call fails as a timeout when the response has not
    begun within ``first_byte_timeout_ms`` or its body is silent for ``idle_timeout_ms`` (None:
    no such limit; the registry passes the config's, docs/design/retry.md#timeouts).
    """

    api: ClassVar[str]
    """Wire API name as in the config (``anthropic-messages``, ``openai-completions``)."""

    def __init__(
        self,
        provider_id: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_ms: int = 600_000,
        connect_timeout_ms: int = 5_000,
        first_byte_timeout_ms: int | None = None,
        idle_timeout_ms: int | None = None,
        publish: Publish | None = None,
    ) -> None:
        key = (api_key or "").strip() or None
        if key is not None and not all(" " < ch < "\x7f" for ch in key):
            # Checked here so httpx never raises an "illegal header value" error quoting it.
            raise ValueError(f"API key of provider {provider_id!r} has characters not allowed in an HTTP header")
        self.id = provider_id
        self._publish = publish
        self._http = HttpTransport(
            provider_id, self._endpoint(base_url.rstrip("/")), self._headers(key),
            timeout_ms=timeout_ms, connect_timeout_ms=connect_timeout_ms,
            first_byte_timeout_ms=first_byte_timeout_ms, idle_timeout_ms=idle_timeout_ms,
            secrets=(key,) if key else (),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.id!r} url={display_url(self._http.url)!r}>"

    @property
    def url(self) -> str:
        """The endpoint URL requests are POSTed to, without credentials."""
        return display_url(self._http.url)

    # -- subclass hooks -------------------------------------------------------------------
    @staticmethod
    @abstractmethod
    def _endpoint(base_url: str) -> str:
        """The full POST URL for a configured base URL (no trailing slash)."""

    @abstractmethod
    def _headers(self, api_key: str | None) -> dict[str, str]:
        """Default headers of every request, auth included."""

    @abstractmethod
    def _body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON request body."""

    @abstractmethod
    def _decoder(self) -> StreamDecoder:
        """A fresh decoder for one streamed call."""

    @abstractmethod
    def _parse_reply(self, data: Any) -> tuple[str, str, tuple[ToolCall, ...], Usage, str | None, str | None]:
        """``(text, thinking, tool_calls, usage, stop_reason, model)`` of a non-streamed reply."""

    def _fallback(self, body: dict[str, Any], error: ProviderError) -> tuple[str, dict[str, Any]] | None:
        """A protocol fallback for this rejection: ``(name, changed body)``, or None."""
        return None

    # -- calls ----------------------------------------------------------------------------
    async def stream(self, request: ModelRequest, *, deadline: float | None = None) -> AsyncIterator[StreamEvent]:
        """Stream one reply: ``RateLimits`` (if sent), deltas, ``ToolCall`` s, ``UsageUpdate`` s,
        then ``StreamEnd``. Raises a :class:`ProviderError` subclass on any failure."""
        call = _Call(self, request.model, True, deadline)
        decoder = self._decoder()
        emitted = False
        try:
            response = await self._open(request, call, stream=True)
            try:
                if call.rate_limits is not None:
                    yield RateLimits(call.rate_limits)
                parser = SSEParser()
                chunks = response.aiter_bytes()
                end = call.deadline
                draining = False
                while True:
                    until, idle_bound = (end, False) if draining else self._http.next_read(end)
                    try:
                        async with asyncio.timeout_at(until):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except (httpx.HTTPError, TimeoutError) as exc:
                        if draining:  # the reply was already complete; only the tail broke
                            break
                        if idle_bound and isinstance(exc, TimeoutError):
                            raise self._http.idle_error(after_first_token=emitted) from None
                        raise
                    for sse in parser.feed(chunk):
                        for event in decoder.handle(sse):
                            if not emitted and isinstance(event, _CONTENT):
                                emitted = True
                                call.ttft_ms = call.elapsed_ms()
                            yield event
                    if decoder.done and not draining:
                        # Read on to the end of the body so the connection returns to the pool,
                        # but never wait long for a server that keeps it open.
                        draining = True
                        end = min(end, time.monotonic() + DRAIN_S)
                parser.close()
                for event in decoder.finish():
                    yield event
            finally:
                await response.aclose()
        except BaseException as exc:
            err = self._failure(exc, call, emitted)
            call.finished("cancelled" if err is None else "error", error=err or exc, decoder_or_usage=decoder)
            if err is None or err is exc:
                raise
            raise err from exc
        latency = call.finished("ok", decoder_or_usage=decoder, stop_reason=decoder.stop_reason)
        yield StreamEnd(
            decoder.stop_reason, decoder.usage, model=decoder.model or request.model,
            request_id=call.request_id, ttft_ms=call.ttft_ms, latency_ms=latency,
        )

    async def complete(self, request: ModelRequest, *, deadline: float | None = None) -> ModelResponse:
        """One non-streamed call (``"stream": false``)."""
        call = _Call(self, request.model, False, deadline)
        try:
            response = await self._open(request, call, stream=False)
            try:
                raw = await self._http.read_body(response, call.deadline)
            finally:
                await response.aclose()
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise ProviderProtocolError(
                    f"response body is not valid JSON ({exc}); starts {raw[:80]!r}", provider=self.id,
                ) from None
            text, thinking, tools, usage, stop, model = self._parse_reply(data)
        except BaseException as exc:
            err = self._failure(exc, call, False)
            call.finished("cancelled" if err is None else "error", error=err or exc)
            if err is None or err is exc:
                raise
            raise err from exc
        latency = call.finished("ok", decoder_or_usage=usage, stop_reason=stop)
        return ModelResponse(
            text=text, tool_calls=tools, usage=usage, stop_reason=stop, model=model or request.model,
            request_id=call.request_id, rate_limits=call.rate_limits, ttft_ms=None,
            latency_ms=latency, thinking=thinking,
        )

    async def call(self, request: ModelRequest, *, deadline: float | None = None) -> ModelResponse:
        """Whole reply, streamed or not as ``request.stream`` says."""
        if request.stream:
            return await collect(self.stream(request, deadline=deadline))
        return await self.complete(request, deadline=deadline)

    async def collect(self, stream: AsyncIterator[StreamEvent]) -> ModelResponse:
        """See :func:`collect`."""
        return await collect(stream)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _failure(self, exc: BaseException, call: _Call, emitted: bool) -> ProviderError | None:
        """The contract error for anything a call raised; None for cancellation (re-raised as is).

        Shape errors (a missing key, a wrong type) are protocol errors, so a malformed reply
        fails its own request with a clear message instead of escaping as a ``KeyError``. Every
        error leaves here with the API key scrubbed from its message and body (a server may
        echo it back).
        """
        if isinstance(exc, ProviderError):
            err = exc
            err.after_first_token = err.after_first_token or emitted
            if not err.headers and call.response_headers is not None:
                err.headers = dict(call.response_headers.items())
        elif isinstance(exc, TimeoutError):
            err = self._http.deadline_error(after_first_token=emitted)
        elif isinstance(exc, httpx.HTTPError):
            err = self._http.map_error(exc, after_first_token=emitted)
        elif isinstance(exc, SSEError):
            err = ProviderProtocolError(f"broken SSE stream: {exc}", provider=self.id, after_first_token=emitted)
        elif isinstance(exc, (KeyError, TypeError, ValueError, AttributeError, IndexError)):
            err = ProviderProtocolError(
                f"unexpected response shape ({type(exc).__name__}: {str(exc)[:200]})",
                provider=self.id, after_first_token=emitted)
        else:
            return None
        self._http.scrub(err)
        return err

    async def _open(self, request: ModelRequest, call: _Call, *, stream: bool) -> httpx.Response:
        """Send the request; return a 2xx response with its body unread, or raise."""
        body = self._body(request, stream=stream)
        while True:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            call.response_headers = None
            response = await self._http.send(content, call.deadline, streamed=stream)
            call.headers(response)
            if response.status_code < 300:
                if stream and response.headers.get("content-type", "").startswith("application/json"):
                    await response.aclose()
                    raise ProviderProtocolError(
                        "asked for a stream but the server answered with a JSON body "
                        "(content-type application/json)", provider=self.id)
                return response
            error = await self._http.http_error(response, call.deadline)
            fallback = None if call.fallback else self._fallback(body, error)
            if fallback is None:
                raise error
            call.fallback, body = fallback


async def collect(stream: AsyncIterator[StreamEvent]) -> ModelResponse:
    """Drain a :meth:`ProviderClient.stream` into a :class:`ModelResponse` (closing it)."""
    text: list[str] = []
    thinking: list[str] = []
    tools: list[ToolCall] = []
    limits: RateLimitSnapshot | None = None
    end: StreamEnd | None = None
    # The ignore: streams are ProviderClient.stream's async generators (they have aclose), typed
    # as the AsyncIterator the callers hold.
    async with aclosing(stream) as events:  # type: ignore[type-var]
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ThinkingDelta):
                thinking.append(event.text)
            elif isinstance(event, ToolCall):
                tools.append(event)
            elif isinstance(event, RateLimits):
                limits = event.snapshot
            elif isinstance(event, StreamEnd):
                end = event
    if end is None:
        raise ValueError("stream ended without StreamEnd")
    return ModelResponse(
        text="".join(text), tool_calls=tuple(tools), usage=end.usage, stop_reason=end.stop_reason,
        model=end.model, request_id=end.request_id, rate_limits=limits, ttft_ms=end.ttft_ms,
        latency_ms=end.latency_ms or 0.0, thinking="".join(thinking),
    )


def json_object(decoder: StreamDecoder, what: str, data: str) -> Mapping[str, Any]:
    """Parse one event's data as a JSON object, or raise a protocol error saying which event."""
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise decoder.fail(f"{what}: data is not valid JSON ({exc}): {data[:120]!r}") from None
    if not isinstance(value, dict):
        raise decoder.fail(f"{what}: data is not a JSON object: {data[:120]!r}")
    return value
