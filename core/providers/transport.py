"""HTTP plumbing shared by both wire clients: one pooled ``httpx.AsyncClient``, timeouts with an
overall deadline, and the mapping of every httpx failure onto the provider error contract.

Timeouts (``models.providers.<id>``, docs/design/retry.md#timeouts): ``connectTimeoutMs`` bounds
the TCP/TLS connect; ``timeoutMs`` bounds each read, write and pool wait (httpx's per-operation
timeouts, which a slowly dripping stream keeps resetting) **and** the whole call, as an overall
deadline measured from the moment the call starts. A caller (the retry owner,
docs/design/retry.md#one-retry-owner) may pass its own absolute ``deadline``
(``time.monotonic()`` seconds); the earlier of the two wins and every httpx timeout is clamped to
what remains. Inside that deadline two liveness limits catch a server that holds the connection
without answering, which the per-read timeouts alone would let hang for ``timeoutMs``:
``firstByteTimeoutMs`` from sending a streamed request to the response's headers, and
``idleTimeoutMs`` for every wait on the body.

``request_sent`` is False only when the request provably never left the machine:
``httpx.ConnectError`` (refused, DNS), ``httpx.ConnectTimeout``, ``httpx.PoolTimeout`` and
``httpx.UnsupportedProtocol``. Everything else (read/write timeouts and errors, a peer that
closes mid-response, the overall deadline once connected) is ambiguous: ``request_sent=True``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from core.provider_errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeoutError,
)

__all__ = ["ERROR_BODY_LIMIT", "HttpTransport", "display_url"]

ERROR_BODY_LIMIT = 64 * 1024
"""Bytes of an error response read for its message; the rest is discarded."""

_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""The official SDKs' pool limits (docs/design/retry.md#official-sdks)."""

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_REDACTED = "[redacted]"


def display_url(url: str) -> str:
    """``url`` without user-info, query or fragment: safe to show and to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class HttpTransport:
    """One provider's connection pool plus its timeout and error policy.

    ``secrets`` (the API key) are scrubbed from every message and body this class puts into an
    exception, so an error page that echoes the key (some proxies do) cannot leak it.
    """

    __slots__ = ("client", "first_byte_s", "idle_s", "provider", "total_s", "url", "_connect_s", "_op_s",
                 "_secrets")

    def __init__(
        self,
        provider: str,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_ms: int,
        connect_timeout_ms: int,
        first_byte_timeout_ms: int | None = None,
        idle_timeout_ms: int | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.provider = provider
        self.url = url
        self.total_s = timeout_ms / 1000.0
        self.first_byte_s = first_byte_timeout_ms / 1000.0 if first_byte_timeout_ms is not None else None
        """Time-to-first-byte limit of a streamed call in seconds; None: only the deadline."""
        self.idle_s = idle_timeout_ms / 1000.0 if idle_timeout_ms is not None else None
        """Longest wait for the next piece of a response body in seconds; None: only the deadline."""
        self._op_s = timeout_ms / 1000.0
        self._connect_s = connect_timeout_ms / 1000.0
        self._secrets = tuple(s for s in secrets if s)
        self.client = httpx.AsyncClient(
            headers=dict(headers),
            timeout=httpx.Timeout(self._op_s, connect=self._connect_s),
            limits=_LIMITS,
            follow_redirects=False,
        )

    def deadline(self, caller_deadline: float | None) -> float:
        """Absolute monotonic deadline of a call starting now."""
        own = time.monotonic() + self.total_s
        return own if caller_deadline is None else min(own, caller_deadline)

    async def send(self, content: bytes, deadline: float, *, streamed: bool) -> httpx.Response:
        """POST ``content`` and return the response once its headers arrived (body unread, any
        status). The caller must close it. A streamed call must see its headers within the
        first-byte limit; a non-streamed one gets them only with the whole reply, so only the
        deadline bounds it."""
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0:
            raise ProviderTimeoutError(
                "the call's deadline had passed before the request was sent",
                provider=self.provider, request_sent=False,
            )
        until, first_byte_bound = deadline, False
        if streamed and self.first_byte_s is not None and now + self.first_byte_s < deadline:
            until, first_byte_bound = now + self.first_byte_s, True
        # httpx's own read timeout stays on the deadline so the first-byte limit below is what
        # fires (and names itself); the connect timeout is clamped to the limit so a connect
        # that never completes still reports "not sent".
        timeout = httpx.Timeout(min(self._op_s, remaining), connect=min(self._connect_s, until - now))
        request = self.client.build_request("POST", self.url, content=content, timeout=timeout)
        try:
            async with asyncio.timeout_at(until):
                return await self.client.send(request, stream=True)
        except TimeoutError:
            if first_byte_bound:
                raise self.first_byte_error() from None
            raise self.deadline_error(after_first_token=False) from None
        except httpx.HTTPError as exc:
            raise self.map_error(exc, after_first_token=False) from exc

    def next_read(self, deadline: float) -> tuple[float, bool]:
        """When the wait for the next piece of a body must end: ``(monotonic time, True when
        that is the idle limit rather than the deadline)``."""
        if self.idle_s is not None:
            idle_at = time.monotonic() + self.idle_s
            if idle_at < deadline:
                return idle_at, True
        return deadline, False

    async def read_body(self, response: httpx.Response, deadline: float, limit: int | None = None) -> bytes:
        """The whole body (or its first ``limit`` bytes), within the deadline and the idle limit."""
        parts: list[bytes] = []
        size = 0
        chunks = response.aiter_bytes()
        while limit is None or size < limit:
            until, idle_bound = self.next_read(deadline)
            try:
                async with asyncio.timeout_at(until):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                if idle_bound:
                    raise self.idle_error(after_first_token=False) from None
                raise self.deadline_error(after_first_token=False) from None
            except httpx.HTTPError as exc:
                raise self.map_error(exc, after_first_token=False) from exc
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    async def http_error(self, response: httpx.Response, deadline: float) -> ProviderHTTPError:
        """The error for a non-2xx response: status, headers, body start, provider error type."""
        try:
            raw = await self.read_body(response, deadline, ERROR_BODY_LIMIT)
        except ProviderError:
            raw = b""
        finally:
            await response.aclose()
        text = self.redact(raw.decode("utf-8", "replace"))
        error_type, detail = error_details(text)
        reason = response.reason_phrase or "error"
        message = f"{error_type}: {detail}" if error_type and detail else detail or error_type or reason
        return ProviderHTTPError(
            self.redact(message[:500]),
            provider=self.provider,
            status=response.status_code,
            headers=dict(response.headers.items()),
            body=text,
            request_sent=True,
            error_type=error_type,
        )

    def map_error(self, exc: httpx.HTTPError, *, after_first_token: bool) -> ProviderError:
        """The contract error for an httpx exception (see the module doc for ``request_sent``)."""
        sent = not isinstance(exc, _NOT_SENT)
        what = type(exc).__name__
        detail = self.redact(str(exc)) or "no detail"
        cls: type[ProviderError]
        if isinstance(exc, httpx.TimeoutException):
            cls = ProviderTimeoutError
            phase = {
                httpx.ConnectTimeout: f"connect timeout ({self._connect_s:g} s)",
                httpx.PoolTimeout: "timed out waiting for a pooled connection",
                httpx.WriteTimeout: "write timeout while sending the request",
            }.get(type(exc), "read timeout: the server stopped sending")
            message = f"{phase} ({what})"
        elif isinstance(exc, httpx.DecodingError):
            cls, message = ProviderProtocolError, f"response body could not be decoded ({what}: {detail})"
        else:
            cls = ProviderConnectionError
            message = f"{'connection failed' if not sent else 'connection broke'} ({what}: {detail})"
        return cls(message, provider=self.provider, request_sent=sent, after_first_token=after_first_token)

    def deadline_error(self, *, after_first_token: bool) -> ProviderTimeoutError:
        """The overall deadline passed while waiting on the server."""
        return ProviderTimeoutError(
            f"no complete reply before the call's deadline (timeoutMs {self.total_s * 1000:g} or the retry owner's)",
            provider=self.provider, request_sent=True, after_first_token=after_first_token,
        )

    def first_byte_error(self) -> ProviderTimeoutError:
        """A streamed call's response did not begin within the first-byte limit."""
        assert self.first_byte_s is not None
        return ProviderTimeoutError(
            f"no response within firstByteTimeoutMs ({self.first_byte_s * 1000:g} ms): "
            "the server took the request and sent nothing",
            provider=self.provider, request_sent=True,
        )

    def idle_error(self, *, after_first_token: bool) -> ProviderTimeoutError:
        """The response body went silent for longer than the idle limit."""
        assert self.idle_s is not None
        return ProviderTimeoutError(
            f"the response stalled: nothing received for idleTimeoutMs ({self.idle_s * 1000:g} ms)",
            provider=self.provider, request_sent=True, after_first_token=after_first_token,
        )

    def redact(self, text: str) -> str:
        """``text`` with every configured secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def scrub(self, error: ProviderError) -> None:
        """Remove every secret from an error's message and body, in place."""
        if not self._secrets:
            return
        message = self.redact(error.message)
        if message != error.message:
            error.message = message
            error.args = (message,)
        if error.body:
            error.body = self.redact(error.body)

    async def aclose(self) -> None:
        await self.client.aclose()


def error_details(body: str) -> tuple[str | None, str]:
    """``(error_type, message)`` from an error body in Anthropic (``error.type``), OpenAI
    (``error.code`` else ``error.type``) or Ollama (``error: "text"``) shape; otherwise the
    body start."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, " ".join(body.split())[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return None, error[:300]
    if isinstance(error, dict):
        code = error.get("code")
        kind = code if isinstance(code, str) and code else error.get("type")
        message = error.get("message")
        return (kind if isinstance(kind, str) else None), (str(message)[:300] if message else "")
    return None, " ".join(body.split())[:300]
