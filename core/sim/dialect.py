"""The contract each wire API (Anthropic Messages, OpenAI Chat Completions) implements.

The request flow in :mod:`core.sim.exchange` is written once against these protocols; the two
dialect modules only parse bodies and render bodies, stream frames, errors and headers. That
keeps the simulated *behaviour* (faults, limits, cache, pacing) identical for both APIs, and the
*wire format* each in one file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from core.sim.cache import CachePlan, PromptCache
from core.sim.faults import FaultSpec
from core.sim.ratelimit import BucketState
from core.sim.reply import Reply, Usage
from core.sim.request import Api, ErrorKind, SimRequest

__all__ = ["Dialect", "StreamEncoder", "fault_error_kind", "json_bytes", "sse"]


class StreamEncoder(Protocol):
    """Renders one streamed reply as frames (bytes ready for the wire)."""

    def opening(self) -> bytes:
        """Frames sent with the 200, before the first token (may be empty)."""
        ...

    def pieces(self, pieces: Sequence[tuple[int, str]]) -> bytes:
        """Frames carrying a group of ``(block index, piece)`` output pieces."""
        ...

    def closing(self) -> bytes:
        """Frames that end a complete reply (stop reason, final usage, terminator)."""
        ...

    def error(self) -> bytes:
        """The frame of a failure after the 200 (``stream-error``): overloaded."""
        ...


class Dialect(Protocol):
    """One wire API."""

    api: Api
    path: str
    """The POST path it serves (``/v1/messages``, ``/v1/chat/completions``)."""
    request_id_header: str

    def parse(self, body: Any, *, default_ttl_ms: int) -> SimRequest:
        """Validate a JSON body into a request; ``RequestError`` when it is not acceptable."""
        ...

    def plan_cache(self, cache: PromptCache, request: SimRequest, started: float) -> CachePlan:
        """Look the prompt up the way this API caches (breakpoints or automatic)."""
        ...

    def body(self, request: SimRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        """The non-streaming response body."""
        ...

    def encoder(self, request: SimRequest, reply: Reply, usage: Usage, request_id: str) -> StreamEncoder:
        """The frame renderer for a streamed response."""
        ...

    def error_body(self, kind: ErrorKind, message: str | None, request_id: str) -> dict[str, Any]:
        """An error body; ``message`` None means the API's usual wording for ``kind``."""
        ...

    def limit_headers(self, state: dict[str, BucketState]) -> list[tuple[str, str]]:
        """Rate-limit headers for the current bucket state."""
        ...

    def retry_headers(self, kind: ErrorKind) -> list[tuple[str, str]]:
        """Extra headers the real API adds to this error (``x-should-retry`` on Anthropic)."""
        ...


def fault_error_kind(spec: FaultSpec) -> ErrorKind:
    """The error an injected status stands for."""
    if spec.context_overflow:
        return "context_overflow"
    if spec.status == 429:
        return "spend_cap" if spec.spend_cap else "rate_limit"
    kinds: dict[int, ErrorKind] = {529: "overloaded", 500: "server_error", 502: "bad_gateway", 503: "unavailable"}
    return kinds[spec.status or 500]


def json_bytes(value: Any) -> bytes:
    """Compact JSON, as the real APIs send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: optional ``event:`` line, one ``data:`` line, blank line."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
