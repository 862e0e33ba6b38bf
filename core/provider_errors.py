"""Provider failures, described well enough for the retry engine to classify them.

The single most important fact for retry safety is :attr:`ProviderError.request_sent`: a
failure before the request left the machine (DNS, refused connection, connect timeout) can be
repeated even for a non-idempotent operation; anything after is ambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping


class ProviderError(Exception):
    """A provider call failed.

    ``provider`` is the provider id (``sim``, ``anthropic``, …), never a key or a URL with
    credentials. ``headers`` holds response headers with lower-case names (empty when no
    response arrived); secrets are never copied into it.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        request_sent: bool = True,
        after_first_token: bool = False,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        """HTTP status of the failed response; None when no response (or an error after 200)."""
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body[:2000] if body else body
        """The start of the error body (providers explain themselves there), capped."""
        self.request_sent = request_sent
        """False only when the request provably never reached the server."""
        self.after_first_token = after_first_token
        """True when output had already streamed before the failure (a partial reply)."""
        self.error_type = error_type
        """The provider's own error type (Anthropic ``overloaded_error``, OpenAI ``code``)."""

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.provider}{status}: {self.message}"


class ProviderHTTPError(ProviderError):
    """The server answered with a non-2xx status (or an ``error`` event after HTTP 200)."""


class ProviderConnectionError(ProviderError):
    """The connection failed or broke: refused, reset, closed mid-response."""


class ProviderTimeoutError(ProviderError):
    """A connect, read or total timeout expired."""


class ProviderProtocolError(ProviderError):
    """The response could not be understood: bad JSON, broken SSE, an unexpected shape.

    The message names the provider and what exactly was wrong.
    """
