"""Rate-limit header parsing (docs/design/retry.md#rate-limit-headers) and the ``provider.ratelimits`` event, end to
end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_providers_support import CannedServer, Recorder, openai_sse, server  # noqa: F401

from core.events.base import event_kinds
from core.providers import ChatMessage, ModelRequest, OpenAICompatClient, RateLimits, parse_rate_limits
from core.providers.events import ProviderCallFinished, ProviderRateLimits
from core.providers.ratelimits import parse_duration_s, parse_retry_after_ms

NOW = 1_800_000_000.0


def test_anthropic_headers_with_rfc3339_resets() -> None:
    snap = parse_rate_limits("anthropic", {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:01Z",
        "anthropic-ratelimit-tokens-limit": "90000",
        "anthropic-ratelimit-tokens-remaining": "89000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-reset": "2027-01-15T08:00:05.5+00:00",
        "retry-after": "16",
        "x-should-retry": "true",
        "content-type": "application/json",
    }, received_at=NOW)
    assert snap is not None
    assert (snap.requests_limit, snap.requests_remaining, snap.tokens_limit, snap.tokens_remaining) == (
        50, 49, 90000, 89000)
    assert snap.requests_reset == datetime(2027, 1, 15, 8, 0, 1, tzinfo=UTC).timestamp()
    assert snap.output_tokens_reset == datetime(2027, 1, 15, 8, 0, 5, 500000, tzinfo=UTC).timestamp()
    assert snap.input_tokens_remaining == 0
    assert snap.retry_after_ms == 16_000 and snap.retry_after_raw == "16" and snap.should_retry is True


def test_openai_headers_with_go_durations() -> None:
    snap = parse_rate_limits("openai", {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-limit-tokens": "2000000",
        "x-ratelimit-remaining-tokens": "1999000",
        "x-ratelimit-reset-tokens": "20ms",
        "x-should-retry": "false",
    }, received_at=NOW)
    assert snap is not None
    assert snap.requests_reset == NOW + 360 and snap.tokens_reset == pytest.approx(NOW + 0.02)
    assert snap.tokens_remaining == 1_999_000 and snap.should_retry is False and snap.retry_after_ms is None


@pytest.mark.parametrize(("raw", "seconds"), [
    ("6m0s", 360.0), ("1s", 1.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("7", 7.0),
    ("", None), ("soon", None), ("5x", None), ("1s junk", None),
])
def test_go_duration(raw: str, seconds: float | None) -> None:
    result = parse_duration_s(raw)
    assert result == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_forms_take_the_maximum() -> None:
    assert parse_retry_after_ms({"retry-after-ms": "1500.5"}) == 1500.5
    assert parse_retry_after_ms({"retry-after": "1.5"}) == 1500  # decimals accepted like the SDKs
    assert parse_retry_after_ms({"retry-after": "2", "retry-after-ms": "900"}) == 2000
    assert parse_retry_after_ms({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=NOW) == 0  # past date
    future = "Fri, 15 Jan 2027 08:00:10 GMT"
    now = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after_ms({"retry-after": future}, now=now) == 10_000
    assert parse_retry_after_ms({"retry-after": "garbage"}) is None
    assert parse_retry_after_ms({}) is None


def test_no_relevant_headers_no_snapshot_and_azure_minus_one_is_unknown() -> None:
    assert parse_rate_limits("p", {"content-type": "x"}) is None
    snap = parse_rate_limits("p", {"x-ratelimit-reset-tokens": "-1"}, received_at=NOW)
    assert snap is not None and snap.tokens_reset is None


def test_event_kinds_registered() -> None:
    kinds = event_kinds()
    assert kinds["provider.ratelimits"] is ProviderRateLimits
    assert kinds["provider.call"] is ProviderCallFinished


async def test_headers_of_a_streamed_reply_become_an_event_and_a_stream_item(server: CannedServer) -> None:
    server.add(headers={"x-ratelimit-remaining-requests": "7", "x-ratelimit-reset-requests": "1s"},
               parts=[openai_sse([{"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}, "[DONE]"])])
    rec = Recorder()
    c = OpenAICompatClient("oai", server.base_url + "/v1", None, timeout_ms=5_000, connect_timeout_ms=500, publish=rec)
    events = [e async for e in c.stream(ModelRequest(model="m", messages=(ChatMessage("user", "x"),)))]
    await c.aclose()
    assert isinstance(events[0], RateLimits) and events[0].snapshot.requests_remaining == 7
    (event,) = rec.of("provider.ratelimits")
    payload = event.payload()
    assert payload["provider"] == "oai" and payload["model"] == "m" and payload["http_status"] == 200
    assert payload["requests_remaining"] == 7 and payload["requests_reset"] > payload["received_at"]
