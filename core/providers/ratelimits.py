"""Rate-limit and retry headers → one provider-neutral snapshot (docs/design/retry.md#rate-limit-headers,
docs/design/retry.md#retry-after-as-a-hard-floor).

Read on every response, success or failure, so the Retries pane can draw "requests left" and
"tokens left" gauges and count down to the next reset before a 429 ever happens.

Normalisation rules:

* Resets are stored as **absolute wall-clock time** (Unix seconds), because a gauge needs a
  countdown that stays right while the snapshot ages. Anthropic sends RFC 3339 timestamps;
  OpenAI sends Go-style durations (``6m0s``, ``1s``, ``20ms``, ``1h2m3.5s``) and Azure plain
  seconds, both added to the time the response was received. Unparseable values are ``None``.
* ``retry_after_ms`` is the maximum of ``retry-after-ms``, ``x-ms-retry-after-ms`` and
  ``retry-after`` (delta-seconds, decimals accepted like the SDKs do, or an HTTP-date; a past
  date gives 0). The raw header text is kept in ``retry_after_raw`` for messages.
* ``tokens_*`` is Anthropic's ``anthropic-ratelimit-tokens-*`` (the most restrictive token limit)
  or OpenAI's ``x-ratelimit-*-tokens``; ``input_tokens_*`` / ``output_tokens_*`` are Anthropic's
  ITPM / OTPM buckets.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

__all__ = ["RateLimitSnapshot", "parse_duration_s", "parse_rate_limits", "parse_retry_after_ms"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSnapshot:
    """What one response said about the caller's limits. ``None`` = header absent."""

    provider: str
    received_at: float
    """Wall-clock time (Unix seconds) the response headers arrived."""
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
    """``x-should-retry``: True/False overrides status rules; None when not sent."""


# header name → (field, kind); kind "n" = count, "t" = reset time
_HEADERS: dict[str, tuple[str, str]] = {}
for _bucket in ("requests", "tokens", "input-tokens", "output-tokens"):
    _f = _bucket.replace("-", "_")
    for _part, _kind in (("limit", "n"), ("remaining", "n"), ("reset", "t")):
        _HEADERS[f"anthropic-ratelimit-{_bucket}-{_part}"] = (f"{_f}_{_part}", _kind)
for _bucket in ("requests", "tokens"):
    for _part, _kind in (("limit", "n"), ("remaining", "n"), ("reset", "t")):
        _HEADERS[f"x-ratelimit-{_part}-{_bucket}"] = (f"{_bucket}_{_part}", _kind)
_RETRY_HEADERS = ("retry-after", "retry-after-ms", "x-ms-retry-after-ms", "x-should-retry")
_RELEVANT = frozenset(_HEADERS) | frozenset(_RETRY_HEADERS)

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate_limits(
    provider: str, headers: Mapping[str, str], *, received_at: float | None = None
) -> RateLimitSnapshot | None:
    """The snapshot for these response headers (names lower-case), or None when none of the
    rate-limit / retry headers is present."""
    found = {name: value for name, value in headers.items() if name in _RELEVANT}
    if not found:
        return None
    now = time.time() if received_at is None else received_at
    fields: dict[str, object] = {}
    for name, value in found.items():
        spec = _HEADERS.get(name)
        if spec is None:
            continue
        field, kind = spec
        fields[field] = _int(value) if kind == "n" else _reset_at(value, now)
    retry_after = parse_retry_after_ms(found, now=now)
    should = found.get("x-should-retry", "").strip().lower()
    return RateLimitSnapshot(
        provider=provider,
        received_at=now,
        retry_after_ms=retry_after,
        retry_after_raw=found.get("retry-after") or found.get("retry-after-ms") or found.get("x-ms-retry-after-ms"),
        should_retry=True if should == "true" else False if should == "false" else None,
        **fields,  # type: ignore[arg-type]  # keys are _HEADERS' field names, values of those fields' types
    )


def parse_retry_after_ms(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Largest wait hint among ``retry-after-ms``, ``x-ms-retry-after-ms`` and ``retry-after``
    (seconds or HTTP-date), in ms; None when no header parses."""
    hints: list[float] = []
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = headers.get(name)
        if raw is not None:
            value = _float(raw)
            if value is not None and value >= 0:
                hints.append(value)
    raw = headers.get("retry-after")
    if raw is not None:
        seconds = _float(raw)
        if seconds is None:
            at = _http_date(raw)
            if at is not None:
                seconds = max(0.0, at - (time.time() if now is None else now))
        if seconds is not None and seconds >= 0:
            hints.append(seconds * 1000.0)
    return max(hints) if hints else None


def parse_duration_s(raw: str) -> float | None:
    """Go-style duration (``6m0s``, ``1s``, ``20ms``, ``1h2m3.5s``) or plain seconds → seconds."""
    text = raw.strip()
    plain = _float(text)
    if plain is not None:
        return plain
    pos, total = 0, 0.0
    for match in _GO_DURATION.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) and pos > 0 else None


def _reset_at(raw: str, now: float) -> float | None:
    text = raw.strip()
    if "T" in text or (len(text) >= 10 and text[4:5] == "-"):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    seconds = parse_duration_s(text)
    if seconds is None or seconds < 0:  # Azure has sent -1: "unknown"
        return None
    return now + seconds


def _http_date(raw: str) -> float | None:
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        value = _float(raw)
        return int(value) if value is not None else None


def _float(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
