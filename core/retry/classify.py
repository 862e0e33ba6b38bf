"""Every failure gets one class (docs/design/retry.md#error-classification, docs/design/retry.md#same-model-retry,
docs/design/retry.md#call-site-safety) — the only input the engine, the cooldown ladders and the fallback chain decide
on.

Typed evidence first (status, provider error type, ``request_sent``, exception type), message
regexes only as a fallback. ``Classification.retryable`` answers "would an *idempotent*
operation retry this?"; the engine then applies the call site's safety (docs/design/retry.md#call-site-safety) on top.
``x-should-retry`` overrides the status rules either way (docs/design/retry.md#x-should-retry).
"""

from __future__ import annotations

import asyncio
import enum
import errno
import re
import socket
from dataclasses import dataclass

from core.provider_errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from core.retry.retry_after import RetryAfterHint, hint_from_exception

__all__ = ["Classification", "ErrorClass", "classify", "is_failover_worthy"]


class ErrorClass(enum.StrEnum):
    """The failure classes the retry engine knows."""

    RATE_LIMIT = "rate_limit"
    """429 with a short window (rpm/tpm, bare 429): retry after the hint or backoff."""
    QUOTA = "quota"
    """Long-window limit (daily/monthly quota, subscription, balance wording): no same-model
    retry, straight to rotation/failover (docs/design/retry.md#same-model-retry)."""
    OVERLOADED = "overloaded"
    """529 / ``overloaded_error`` / 503 that says overloaded: load across all users."""
    SERVER = "server"
    """Other 5xx / ``api_error``: the server failed, it may have acted."""
    TIMEOUT = "timeout"
    """The request was sent and no (complete) answer came in time (408, 504, read timeouts)."""
    CONNECTION_BEFORE_SEND = "connection_before_send"
    """The request provably never reached the server: always safe to repeat."""
    AMBIGUOUS = "ambiguous"
    """Connection reset/closed after sending, broken stream, 409: the server may have acted."""
    AUTH = "auth"
    """401/403 and auth wording; ``reason`` says ``auth_permanent`` for revoked keys."""
    BILLING = "billing"
    """402, credit/spend-cap wording, Anthropic 429 without Retry-After (spend cap)."""
    BAD_REQUEST = "bad_request"
    """400/404/413/422 and other 4xx: the request itself is wrong; repeating cannot help."""
    CONTEXT_OVERFLOW = "context_overflow"
    """The prompt does not fit the window: handed back to the caller (compaction), never retried
    nor failed over."""
    UNKNOWN = "unknown"
    """Anything else (including programming errors): not retried."""


_TRANSIENT = frozenset({ErrorClass.RATE_LIMIT, ErrorClass.OVERLOADED, ErrorClass.SERVER, ErrorClass.TIMEOUT,
                        ErrorClass.CONNECTION_BEFORE_SEND, ErrorClass.AMBIGUOUS})


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one failure.

    ``retryable``: whether an idempotent operation may repeat it (safety is applied by the
    engine). ``retry_after_ms`` is the server's hint (may be ``inf``); ``hint`` keeps its raw
    text and source. ``reason`` is the OpenClaw-style reason (``rate_limit``, ``auth_permanent``,
    ``model_not_found`` …) plus what decided it, for messages and events.
    """

    error_class: ErrorClass
    retryable: bool
    retry_after_ms: float | None
    reason: str
    status: int | None = None
    hint: RetryAfterHint | None = None
    request_sent: bool = True
    after_first_token: bool = False


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


_CONTEXT_OVERFLOW = _rx(r"context[_ ]length[_ ]exceeded", r"maximum context length", r"prompt is too long",
                        r"context window", r"too many tokens", r"input is too long", r"exceeds? the context",
                        r"request too large for model", r"context_overflow")
_LONG_WINDOW = _rx(r"\b(daily|weekly|monthly)\b", r"per day", r"tokens per day", r"subscription", r"\bquota\b",
                   r"\bbalance\b", r"\bbudget\b", r"usage limit")
_SHORT_WINDOW = _rx(r"per minute", r"\brpm\b", r"\btpm\b", r"model_cooldown")
_BILLING = _rx(r"insufficient[_ ](credits|quota|balance)", r"credit balance", r"plans? & billing", r"add more credits",
               r"top up", r"billing", r"payment required", r"requires more credits", r"out of extra usage",
               r"enforced_spend_limit_reached", r"spend limit", r"key limit exceeded")
_AUTH_PERMANENT = _rx(r"api key (revoked|deactivated|deleted)", r"key has been (disabled|revoked)",
                      r"account has been deactivated", r"not allowed for this organization")
_AUTH = _rx(r"invalid (api[_ ]key|token)", r"could not (authenticate|validate)", r"permission_error",
            r"incorrect api key", r"authentication", r"re-authenticate", r"unauthori[sz]ed", r"forbidden",
            r"access denied", r"insufficient permissions?", r"missing scopes?", r"no (credentials|api key) found")
_RATE = _rx(r"rate[_ ]limit", r"too many (concurrent )?requests", r"\b429\b", r"throttl",
            r"resource[_ ]has been exhausted", r"resource_exhausted", r"quota exceeded", r"exceeded your current quota")
_OVERLOAD = _rx(r"overloaded", r"high demand", r"\b529\b")
_SERVER = _rx(r"internal server error", r"internal_error", r"server_error", r"bad gateway",
              r"upstream (connect )?error", r"an error occurred while processing", r"service[_ ]unavailable",
              r"\b50[0234]\b")
_TIMEOUT = _rx(r"timed? ?out", r"deadline exceeded", r"\betimedout\b", r"\besockettimedout\b")
_RESET = _rx(r"connection (reset|closed|aborted|lost)", r"socket hang up", r"other side closed", r"\beconnreset\b",
             r"\bepipe\b", r"fetch failed", r"network error", r"stream (closed|aborted)", r"terminated")
_PRE_CONNECT_TEXT = _rx(r"\beconnrefused\b", r"\benotfound\b", r"\beai_again\b", r"\benetunreach\b",
                        r"\behostunreach\b", r"\benetdown\b", r"connection refused", r"getaddrinfo",
                        r"name or service not known")
_MODEL_NOT_FOUND = _rx(r"model[_ ]not[_ ]found", r"no such model", r"unknown model", r"model .* does not exist")

_PRE_CONNECT_ERRNO = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
_AMBIGUOUS_ERRNO = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ETIMEDOUT})

_ANTHROPIC_TYPES = {
    "rate_limit_error": ErrorClass.RATE_LIMIT,
    "overloaded_error": ErrorClass.OVERLOADED,
    "api_error": ErrorClass.SERVER,
    "timeout_error": ErrorClass.TIMEOUT,
    "authentication_error": ErrorClass.AUTH,
    "permission_error": ErrorClass.AUTH,
    "billing_error": ErrorClass.BILLING,
    "not_found_error": ErrorClass.BAD_REQUEST,
    "invalid_request_error": ErrorClass.BAD_REQUEST,
    "request_too_large": ErrorClass.BAD_REQUEST,
    "conflict_error": ErrorClass.AMBIGUOUS,
}


def _is_anthropic(exc: ProviderError) -> bool:
    # Anthropic's own type names (`rate_limit_error`) or provider id; OpenAI says `rate_limit_exceeded`.
    return exc.provider.startswith("anthropic") or (exc.error_type or "") in _ANTHROPIC_TYPES or (
        '"type":"error"' in (exc.body or "").replace(" ", "")
    )


def _by_text(text: str) -> tuple[ErrorClass, str] | None:
    """Message → class, in the order of docs/design/retry.md#message-to-class (a subset: the provider-independent
    rules)."""
    if _CONTEXT_OVERFLOW.search(text):
        return ErrorClass.CONTEXT_OVERFLOW, "context_overflow"
    if _MODEL_NOT_FOUND.search(text):
        return ErrorClass.BAD_REQUEST, "model_not_found"
    if _BILLING.search(text):
        return ErrorClass.BILLING, "billing"
    if _RATE.search(text):
        if _LONG_WINDOW.search(text) and not _SHORT_WINDOW.search(text):
            return ErrorClass.QUOTA, "long_window_rate_limit"
        return ErrorClass.RATE_LIMIT, "rate_limit"
    if _OVERLOAD.search(text):
        return ErrorClass.OVERLOADED, "overloaded"
    if _AUTH_PERMANENT.search(text):
        return ErrorClass.AUTH, "auth_permanent"
    if _AUTH.search(text):
        return ErrorClass.AUTH, "auth"
    if _PRE_CONNECT_TEXT.search(text):
        return ErrorClass.CONNECTION_BEFORE_SEND, "pre_connect"
    if _SERVER.search(text):
        return ErrorClass.SERVER, "server_error"
    if _TIMEOUT.search(text):
        return ErrorClass.TIMEOUT, "timeout"
    if _RESET.search(text):
        return ErrorClass.AMBIGUOUS, "connection_lost"
    return None


def _by_status(status: int, text: str, anthropic: bool, has_hint: bool) -> tuple[ErrorClass, str]:
    """HTTP status → class (docs/design/retry.md#status-to-class, docs/design/retry.md#anthropic-error-types,
    docs/design/retry.md#call-site-safety), refined by the message where those rules say so."""
    by_text = _by_text(text)
    if status == 429:
        if by_text and by_text[0] is ErrorClass.BILLING:
            return ErrorClass.BILLING, "billing: spend limit (429)"
        if anthropic and not has_hint:
            return ErrorClass.BILLING, "anthropic 429 without retry-after (spend cap)"
        if _LONG_WINDOW.search(text) and not _SHORT_WINDOW.search(text):
            return ErrorClass.QUOTA, "long_window_rate_limit"
        return ErrorClass.RATE_LIMIT, "rate_limit"
    if status == 402:
        if by_text and by_text[0] is ErrorClass.RATE_LIMIT and not _BILLING.search(text):
            return ErrorClass.RATE_LIMIT, "rate_limit (402)"
        return ErrorClass.BILLING, "billing"
    if status in (401, 403):
        if _AUTH_PERMANENT.search(text):
            return ErrorClass.AUTH, "auth_permanent"
        if _BILLING.search(text):
            return ErrorClass.BILLING, "billing"
        return ErrorClass.AUTH, "auth_permanent" if status == 403 else "auth"
    if status == 408:
        return ErrorClass.TIMEOUT, "timeout (408)"
    if status == 409:
        return ErrorClass.AMBIGUOUS, "conflict (409)"
    if status in (400, 404, 413, 422) or (400 <= status < 500 and status != 499):
        if by_text and by_text[0] is ErrorClass.CONTEXT_OVERFLOW:
            return ErrorClass.CONTEXT_OVERFLOW, "context_overflow"
        if status == 404:
            return ErrorClass.BAD_REQUEST, "model_not_found"
        if status == 413:
            return ErrorClass.BAD_REQUEST, "request_too_large"
        return ErrorClass.BAD_REQUEST, f"format ({status})"
    if status == 529 or (status == 503 and _OVERLOAD.search(text)):
        return ErrorClass.OVERLOADED, f"overloaded ({status})"
    if status in (504, 524, 499):
        return ErrorClass.TIMEOUT, f"timeout ({status})"
    if status >= 500:
        return ErrorClass.SERVER, f"server_error ({status})"
    return ErrorClass.UNKNOWN, f"unexpected status {status}"


def _status_of(exc: BaseException) -> int | None:
    for holder in (exc, getattr(exc, "response", None)):
        for name in ("status", "status_code", "error_code"):
            value = getattr(holder, name, None) if holder is not None else None
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value
    return None


def _headers_of(exc: BaseException) -> dict[str, str]:
    headers = getattr(exc, "headers", None)
    response = getattr(exc, "response", None)
    if headers is None and response is not None:
        headers = getattr(response, "headers", None)
    try:
        return {str(k).lower(): str(v) for k, v in headers.items()} if headers is not None else {}
    except Exception:  # noqa: BLE001 - foreign header objects must not break classification
        return {}


def _transport(exc: BaseException) -> tuple[ErrorClass, str] | None:
    """Plain Python / httpx transport errors (channel clients, tests) by type and errno."""
    name = type(exc).__name__
    if name in ("ConnectError", "ConnectTimeout", "PoolTimeout"):
        return ErrorClass.CONNECTION_BEFORE_SEND, f"pre_connect ({name})"
    if name in ("ReadTimeout", "WriteTimeout"):
        return ErrorClass.TIMEOUT, f"timeout ({name})"
    if name in ("ReadError", "WriteError", "RemoteProtocolError"):
        return ErrorClass.AMBIGUOUS, f"connection_lost ({name})"
    if isinstance(exc, (socket.gaierror, ConnectionRefusedError)):
        return ErrorClass.CONNECTION_BEFORE_SEND, f"pre_connect ({name})"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ErrorClass.TIMEOUT, "timeout"
    if isinstance(exc, OSError) and exc.errno in _PRE_CONNECT_ERRNO:
        return ErrorClass.CONNECTION_BEFORE_SEND, f"pre_connect (errno {exc.errno})"
    if isinstance(exc, (ConnectionError, EOFError)) or (isinstance(exc, OSError) and exc.errno in _AMBIGUOUS_ERRNO):
        return ErrorClass.AMBIGUOUS, f"connection_lost ({name})"
    return None


def classify(exc: BaseException, *, now_wall: float | None = None) -> Classification:
    """Classify one failure. Never raises; unknown errors are ``unknown`` and not retried."""
    hint = hint_from_exception(exc, now_wall=now_wall)
    headers = _headers_of(exc)
    status = _status_of(exc)
    request_sent = bool(getattr(exc, "request_sent", True))
    after_first = bool(getattr(exc, "after_first_token", False))
    text = " ".join(str(p) for p in (getattr(exc, "message", None) or str(exc), getattr(exc, "body", None) or "",
                                      getattr(exc, "error_type", None) or "") if p)

    verdict: tuple[ErrorClass, str] | None
    if isinstance(exc, ProviderError) and not exc.request_sent:
        verdict = ErrorClass.CONNECTION_BEFORE_SEND, f"request never sent ({type(exc).__name__})"
    elif isinstance(exc, ProviderError) and exc.error_type and status is None and exc.error_type in _ANTHROPIC_TYPES:
        # A stream `event: error` after HTTP 200 (e.g. the streaming 529): only the type tells.
        verdict = _ANTHROPIC_TYPES[exc.error_type], f"stream error {exc.error_type}"
        if verdict[0] is ErrorClass.BAD_REQUEST and _CONTEXT_OVERFLOW.search(text):
            verdict = ErrorClass.CONTEXT_OVERFLOW, "context_overflow"
    elif status is not None:
        anthropic = isinstance(exc, ProviderError) and _is_anthropic(exc)
        verdict = _by_status(status, text, anthropic, hint is not None)
    elif isinstance(exc, ProviderTimeoutError):
        verdict = ErrorClass.TIMEOUT, "timeout"
    elif isinstance(exc, ProviderConnectionError):
        verdict = ErrorClass.AMBIGUOUS, "connection_lost after send"
    elif isinstance(exc, ProviderProtocolError):
        verdict = ErrorClass.AMBIGUOUS, "malformed_response"
    else:
        verdict = _transport(exc) or (_by_text(text) if isinstance(exc, ProviderError) else None)
    if verdict is None:
        verdict = ErrorClass.UNKNOWN, f"unclassified {type(exc).__name__}"

    error_class, reason = verdict
    retryable = error_class in _TRANSIENT
    should = headers.get("x-should-retry", "").strip().lower()
    if should == "false":
        retryable, reason = False, f"{reason}; x-should-retry: false"
    elif should == "true" and error_class is not ErrorClass.CONTEXT_OVERFLOW:
        if status == 429 and error_class is ErrorClass.BILLING and reason.startswith("anthropic 429"):
            # The spend-cap inference rested only on the missing hint; the server says retry.
            error_class = ErrorClass.RATE_LIMIT
        retryable, reason = True, f"{reason}; x-should-retry: true"
    return Classification(
        error_class=error_class,
        retryable=retryable,
        retry_after_ms=hint.ms if hint else None,
        reason=reason,
        status=status,
        hint=hint,
        request_sent=request_sent and error_class is not ErrorClass.CONNECTION_BEFORE_SEND,
        after_first_token=after_first,
    )


_FAILOVER_CLASSES = frozenset({ErrorClass.RATE_LIMIT, ErrorClass.QUOTA, ErrorClass.OVERLOADED, ErrorClass.SERVER,
                               ErrorClass.TIMEOUT, ErrorClass.CONNECTION_BEFORE_SEND, ErrorClass.AMBIGUOUS,
                               ErrorClass.AUTH, ErrorClass.BILLING, ErrorClass.UNKNOWN})


def is_failover_worthy(c: Classification) -> bool:
    """Should the next model in the fallback chain take over (docs/design/retry.md#model-fallback-chain)?

    Yes for auth, rate limits, quota, overload, server errors, timeouts, connection failures,
    billing and unknown errors; also a 404 ``model_not_found`` (the model is missing on this
    provider). Never for context overflow (compaction's job), other bad requests (they would fail
    on every model), or once output has streamed (the turn is no longer replayable,
    docs/design/retry.md#call-site-safety).
    """
    if c.after_first_token:
        return False
    if c.error_class is ErrorClass.BAD_REQUEST:
        return c.reason.startswith("model_not_found")
    return c.error_class in _FAILOVER_CLASSES
