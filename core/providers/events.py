"""Events the provider clients publish: rate-limit gauges and one summary per call.

Payloads hold ids, counts and timings only — never an API key, a base URL (it may carry
credentials) or message text (docs/design/retry.md#retry-events: "No event carries an API key or message text").
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind
from core.providers.ratelimits import RateLimitSnapshot

__all__ = ["CallStatus", "ProviderCallFinished", "ProviderRateLimits"]

CallStatus = Literal["ok", "error", "cancelled"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderRateLimits(Event):
    """A response carried rate-limit or retry headers (on success and on errors alike). Resets
    are absolute wall-clock times in Unix seconds; ``None`` means the header was absent."""

    kind = "provider.ratelimits"
    provider: str
    model: str
    http_status: int
    received_at: float
    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset: float | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset: float | None = None
    input_tokens_limit: int | None = None
    input_tokens_remaining: int | None = None
    input_tokens_reset: float | None = None
    output_tokens_limit: int | None = None
    output_tokens_remaining: int | None = None
    output_tokens_reset: float | None = None
    retry_after_ms: float | None = None
    retry_after_raw: str | None = None
    should_retry: bool | None = None

    @classmethod
    def from_snapshot(cls, snapshot: RateLimitSnapshot, *, model: str, http_status: int) -> ProviderRateLimits:
        """The event for one snapshot (same field names, flattened so the store keeps scalars)."""
        values = {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(snapshot)}
        return cls(model=model, http_status=http_status, **values)


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderCallFinished(Event):
    """One HTTP call to a provider ended (one per attempt; the retry engine adds its own
    ``retry.attempt`` events around these).

    ``status`` is ``ok``, ``error`` or ``cancelled`` (the consumer stopped reading or the task
    was cancelled). ``error`` names the :class:`~core.provider_errors.ProviderError` subclass;
    ``error_type`` is the provider's own code. ``fallback`` is ``stream_options`` when the
    request was resent without ``stream_options`` (a protocol fallback, not a retry).
    """

    kind = "provider.call"
    provider: str
    api: str
    model: str
    status: CallStatus
    streamed: bool
    http_status: int | None = None
    error: str | None = None
    error_type: str | None = None
    request_sent: bool | None = None
    after_first_token: bool = False
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usage_estimated: bool = False
    stop_reason: str | None = None
    request_id: str | None = None
    fallback: str | None = None
