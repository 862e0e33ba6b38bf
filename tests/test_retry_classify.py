"""Classification (docs/design/retry.md#error-classification, docs/design/retry.md#call-site-safety) and Retry-After
parsing (docs/design/retry.md#reading-retry-after, docs/design/retry.md#retry-after-as-a-hard-floor)."""

from __future__ import annotations

import calendar
import errno
import math
from typing import ClassVar

import pytest

from core.provider_errors import (
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from core.retry.classify import ErrorClass, classify, is_failover_worthy
from core.retry.retry_after import hint_from_exception, hint_from_headers, parse_http_date_ms, parse_retry_after

NOW = float(calendar.timegm((2026, 3, 1, 12, 0, 0, 0, 0, 0)))  # Sunday 1 March 2026 12:00:00 GMT


def http(status: int, message: str = "error", provider: str = "openai", headers: dict[str, str] | None = None,
         error_type: str | None = None, body: str | None = None) -> ProviderHTTPError:
    return ProviderHTTPError(message, provider=provider, status=status, headers=headers, error_type=error_type,
                             body=body)


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2", 2000.0),
        ("0", 0.0),
        ("1.5", 1500.0),  # decimals accepted, unlike OpenClaw (docs/design/retry.md#retry-after-as-a-hard-floor)
        (" 16 ", 16000.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30000.0),
        ("Sunday, 01-Mar-26 12:00:30 GMT", 30000.0),
        ("Sun Mar  1 12:00:30 2026", 30000.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # past → 0
        ("Sun, 01 Mar 2026 12:00:60 GMT", 60000.0),  # leap second rounds forward to 12:01:00
        ("Mon, 01 Mar 2026 12:00:30 GMT", None),  # weekday mismatch
        ("-1", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, ms: float | None) -> None:
    assert parse_retry_after(value, now_wall=NOW) == ms


def test_huge_retry_after_is_infinite() -> None:
    assert parse_retry_after("9" * 30, now_wall=NOW) == math.inf


def test_rfc850_two_digit_year_maps_to_current_century() -> None:
    # "77" → 2077 is more than 50 years after 2026, so 1977 (a Tuesday; past → 0).
    assert parse_http_date_ms("Tuesday, 01-Mar-77 12:00:00 GMT", now_wall=NOW) == 0.0
    # "30" → 2030 (a Friday), in the future.
    assert parse_http_date_ms("Friday, 01-Mar-30 12:00:00 GMT", now_wall=NOW) == (
        calendar.timegm((2030, 3, 1, 12, 0, 0, 0, 0, 0)) - NOW) * 1000


def test_the_largest_hint_wins_and_names_its_source() -> None:
    hint = hint_from_headers({"Retry-After": "2", "retry-after-ms": "2500.5", "x-ms-retry-after-ms": "100"},
                             now_wall=NOW)
    assert hint is not None and (hint.ms, hint.source, hint.raw) == (2500.5, "retry-after-ms", "2500.5")
    hint = hint_from_headers({"retry-after": "3", "retry-after-ms": "10"})
    assert hint is not None and (hint.ms, hint.source) == (3000.0, "retry-after")


def test_channel_body_hints() -> None:
    class TelegramError(Exception):
        parameters: ClassVar[dict[str, int]] = {"retry_after": 5}
        status = 429

    hint = hint_from_exception(TelegramError("Too Many Requests: retry after 5"))
    assert hint is not None and hint.ms == 5000.0
    discord = http(429, body='{"message": "You are being rate limited.", "retry_after": 0.75, "global": false}')
    hint = hint_from_exception(discord)
    assert hint is not None and hint.ms == 750.0 and hint.source == "body.retry_after"


# --- classes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        (http(429, headers={"retry-after": "2"}), ErrorClass.RATE_LIMIT, True),
        (http(429, "Rate limit reached for requests per minute"), ErrorClass.RATE_LIMIT, True),
        (http(429, "You exceeded your current quota, monthly limit"), ErrorClass.QUOTA, False),
        (http(529, "Overloaded", provider="anthropic", error_type="overloaded_error"), ErrorClass.OVERLOADED, True),
        (http(503, "upstream overloaded, high demand"), ErrorClass.OVERLOADED, True),
        (http(503, "service unavailable"), ErrorClass.SERVER, True),
        (http(500, "internal server error"), ErrorClass.SERVER, True),
        (http(502, "bad gateway"), ErrorClass.SERVER, True),
        (http(504, "gateway timeout"), ErrorClass.TIMEOUT, True),
        (http(408, "request timeout"), ErrorClass.TIMEOUT, True),
        (http(409, "conflict"), ErrorClass.AMBIGUOUS, True),
        (ProviderTimeoutError("read timed out", provider="x"), ErrorClass.TIMEOUT, True),
        (ProviderTimeoutError("connect timeout", provider="x", request_sent=False),
         ErrorClass.CONNECTION_BEFORE_SEND, True),
        (ProviderConnectionError("connection refused", provider="x", request_sent=False),
         ErrorClass.CONNECTION_BEFORE_SEND, True),
        (ProviderConnectionError("connection reset by peer", provider="x"), ErrorClass.AMBIGUOUS, True),
        (ProviderProtocolError("bad JSON in SSE frame", provider="x"), ErrorClass.AMBIGUOUS, True),
        (http(401, "invalid api key"), ErrorClass.AUTH, False),
        (http(403, "forbidden"), ErrorClass.AUTH, False),
        (http(402, "Your credit balance is too low"), ErrorClass.BILLING, False),
        (http(400, "invalid_request_error: messages: field required"), ErrorClass.BAD_REQUEST, False),
        (http(404, "model not found"), ErrorClass.BAD_REQUEST, False),
        (http(413, "request_too_large"), ErrorClass.BAD_REQUEST, False),
        (http(422, "unprocessable"), ErrorClass.BAD_REQUEST, False),
        (http(400, "prompt is too long: 250000 tokens > 200000 maximum"), ErrorClass.CONTEXT_OVERFLOW, False),
        (http(400, "This model's maximum context length is 128000 tokens"), ErrorClass.CONTEXT_OVERFLOW, False),
        (ValueError("a bug"), ErrorClass.UNKNOWN, False),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ErrorClass.CONNECTION_BEFORE_SEND, True),
        (ConnectionResetError(errno.ECONNRESET, "reset"), ErrorClass.AMBIGUOUS, True),
        (TimeoutError(), ErrorClass.TIMEOUT, True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_classes(exc: BaseException, cls: ErrorClass, retryable: bool) -> None:
    c = classify(exc)
    assert (c.error_class, c.retryable) == (cls, retryable), c.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_never_retried_statuses(status: int) -> None:
    assert classify(http(status)).retryable is False


def test_anthropic_429_without_retry_after_is_the_spend_cap() -> None:
    c = classify(http(429, "rate limited", provider="anthropic", error_type="rate_limit_error"))
    assert (c.error_class, c.retryable) == (ErrorClass.BILLING, False)
    with_hint = classify(http(429, "rate limited", provider="anthropic", headers={"retry-after": "16"}))
    assert (with_hint.error_class, with_hint.retryable, with_hint.retry_after_ms) == (
        ErrorClass.RATE_LIMIT, True, 16000.0)
    # Not Anthropic: a bare 429 is retried with backoff (docs/design/retry.md#no-silent-long-waits).
    assert classify(http(429, "too many requests", provider="openai")).retryable is True
    spend = classify(http(429, "limit", provider="openai",
                          body='{"error":{"details":{"error_code":"enforced_spend_limit_reached"}}}'))
    assert spend.error_class is ErrorClass.BILLING and not spend.retryable


def test_x_should_retry_overrides_the_status() -> None:
    assert classify(http(500, headers={"x-should-retry": "false"})).retryable is False
    forced = classify(http(400, headers={"x-should-retry": "true"}))
    assert forced.retryable is True and forced.error_class is ErrorClass.BAD_REQUEST
    c = classify(http(429, provider="anthropic", headers={"x-should-retry": "true"}))
    assert (c.error_class, c.retryable) == (ErrorClass.RATE_LIMIT, True)
    # Context overflow is never retried, whatever the header says.
    assert classify(http(400, "prompt is too long", headers={"x-should-retry": "true"})).retryable is False


def test_stream_error_after_200_is_classified_by_type() -> None:
    c = classify(ProviderHTTPError("Overloaded", provider="anthropic", status=None, error_type="overloaded_error"))
    assert c.error_class is ErrorClass.OVERLOADED and c.retryable


def test_failover_worthiness() -> None:
    assert is_failover_worthy(classify(http(429, headers={"retry-after": "200"})))
    assert is_failover_worthy(classify(http(401)))
    assert is_failover_worthy(classify(http(404, "model not found")))
    assert not is_failover_worthy(classify(http(400, "prompt is too long")))
    assert not is_failover_worthy(classify(http(400, "bad field")))
    streamed = ProviderConnectionError("reset", provider="x", after_first_token=True)
    assert not is_failover_worthy(classify(streamed))
