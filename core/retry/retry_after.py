"""Server-requested waits: ``retry-after`` (delta-seconds or HTTP-date), ``retry-after-ms``,
``x-ms-retry-after-ms`` and channel body hints (docs/design/retry.md#reading-retry-after,
docs/design/retry.md#retry-after-as-a-hard-floor).

Why our own parser: the hint is a hard floor (docs/design/retry.md#retry-after-as-a-hard-floor), so a hint we fail to
read would let the engine retry before the server allows it. Unlike OpenClaw, decimal delta-seconds are accepted
(``1.5`` → 1500 ms) as the official SDKs do. When several hints are present the **maximum** wins.
A value too large to represent is ``math.inf`` (the engine then refuses to sleep,
docs/design/retry.md#no-silent-long-waits).
"""

from __future__ import annotations

import calendar
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = ["RetryAfterHint", "hint_from_exception", "hint_from_headers", "parse_http_date_ms", "parse_retry_after"]

_MAX_SECONDS = (2**53 - 1) / 1000  # MAX_SAFE_INTEGER / 1000, OpenClaw's cap (docs/design/retry.md#reading-retry-after)
_DECIMAL = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_WEEKDAYS_SHORT = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAYS_LONG = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
_IMF = re.compile(r"^(\w{3}), (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$")
# RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
_RFC850 = re.compile(r"^(\w+), (\d{2})-(\w{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$")
# asctime: Sun Nov  6 08:49:37 1994
_ASCTIME = re.compile(r"^(\w{3}) (\w{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$")


@dataclass(frozen=True, slots=True)
class RetryAfterHint:
    """A parsed server hint: ``ms`` (may be ``inf``), the raw text and where it came from."""

    ms: float
    raw: str
    source: str


def parse_http_date_ms(value: str, *, now_wall: float | None = None) -> float | None:
    """Milliseconds from ``now_wall`` until an HTTP-date (IMF-fixdate, RFC 850, asctime).

    The weekday must match the date (a mismatch means a corrupt header, so it is rejected);
    a ``:60`` leap second rounds forward; RFC 850 two-digit years map to the current century,
    minus 100 when that lands more than 50 years ahead; past dates give 0.
    """
    text = value.strip()
    now = time.time() if now_wall is None else now_wall
    weekday: str
    if m := _IMF.match(text):
        weekday, day, mon, year, hh, mm, ss = m.groups()
        if weekday.lower() not in _WEEKDAYS_SHORT:
            return None
        wd_index = _WEEKDAYS_SHORT.index(weekday.lower())
        y = int(year)
    elif m := _RFC850.match(text):
        weekday, day, mon, yy, hh, mm, ss = m.groups()
        if weekday.lower() not in _WEEKDAYS_LONG:
            return None
        wd_index = _WEEKDAYS_LONG.index(weekday.lower())
        this_year = time.gmtime(now).tm_year
        y = (this_year // 100) * 100 + int(yy)
        if y > this_year + 50:
            y -= 100
    elif m := _ASCTIME.match(text):
        weekday, mon, day, hh, mm, ss, year = m.groups()
        if weekday.lower() not in _WEEKDAYS_SHORT:
            return None
        wd_index = _WEEKDAYS_SHORT.index(weekday.lower())
        y = int(year)
    else:
        return None
    month = _MONTHS.get(mon.lower())
    d, h, mi, s = int(day), int(hh), int(mm), int(ss)
    if month is None or not (1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return None
    try:
        if calendar.weekday(y, month, d) != wd_index:
            return None
    except ValueError:
        return None
    leap = s == 60
    epoch = calendar.timegm((y, month, d, h, mi, 59 if leap else s, 0, 0, 0)) + (1 if leap else 0)
    return max(0.0, (epoch - now) * 1000.0)


def parse_retry_after(value: str | None, *, now_wall: float | None = None) -> float | None:
    """``Retry-After`` → ms: decimal delta-seconds or an HTTP-date; None when unreadable."""
    if value is None:
        return None
    text = value.strip()
    if _DECIMAL.match(text):
        seconds = float(text)
        if seconds > _MAX_SECONDS or not math.isfinite(seconds):
            return math.inf
        return seconds * 1000.0
    return parse_http_date_ms(text, now_wall=now_wall)


def _parse_ms(value: str | None) -> float | None:
    if value is None or not _DECIMAL.match(value.strip()):
        return None
    ms = float(value.strip())
    return ms if math.isfinite(ms) and ms <= 2**53 - 1 else math.inf


def hint_from_headers(headers: Mapping[str, str], *, now_wall: float | None = None) -> RetryAfterHint | None:
    """The largest hint among ``retry-after-ms``, ``x-ms-retry-after-ms`` and ``retry-after``.

    Header names are matched case-insensitively.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    best: RetryAfterHint | None = None
    for name, parsed in (
        ("retry-after-ms", _parse_ms(lower.get("retry-after-ms"))),
        ("x-ms-retry-after-ms", _parse_ms(lower.get("x-ms-retry-after-ms"))),
        ("retry-after", parse_retry_after(lower.get("retry-after"), now_wall=now_wall)),
    ):
        if parsed is not None and (best is None or parsed > best.ms):
            best = RetryAfterHint(parsed, lower[name], name)
    return best


def _body_hint(body: Any) -> RetryAfterHint | None:
    """Telegram ``parameters.retry_after`` (seconds) or Discord JSON ``retry_after`` (float s)."""
    data = body
    if isinstance(body, (str, bytes)):
        try:
            data = json.loads(body)
        except (ValueError, TypeError):
            return None
    if not isinstance(data, dict):
        return None
    params = data.get("parameters")
    if isinstance(params, dict) and _finite_number(params.get("retry_after")):
        value = params["retry_after"]
        return RetryAfterHint(float(value) * 1000.0, str(value), "body.parameters.retry_after")
    if _finite_number(data.get("retry_after")):
        return RetryAfterHint(float(data["retry_after"]) * 1000.0, str(data["retry_after"]), "body.retry_after")
    return None


def _finite_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def hint_from_exception(exc: BaseException, *, now_wall: float | None = None) -> RetryAfterHint | None:
    """Every hint an error carries — its ``headers``, ``response.headers``, body fields and a
    ``retry_after`` attribute (seconds, channel libraries) — and the maximum of them."""
    candidates: list[RetryAfterHint] = []
    for holder in (exc, getattr(exc, "response", None)):
        headers = getattr(holder, "headers", None) if holder is not None else None
        items = getattr(headers, "items", None)  # a Mapping, or a library's headers object
        if callable(items):
            try:
                hint = hint_from_headers(dict(items()), now_wall=now_wall)
            except Exception:  # noqa: BLE001 - a foreign headers object must never break classification
                hint = None
            if hint is not None:
                candidates.append(hint)
    parameters = getattr(exc, "parameters", None)
    for body in (getattr(exc, "body", None), parameters and {"parameters": parameters}):
        if body:
            hint = _body_hint(body)
            if hint is not None:
                candidates.append(hint)
    attr = getattr(exc, "retry_after", None)
    if _finite_number(attr):
        candidates.append(RetryAfterHint(float(attr) * 1000.0, str(attr), "retry_after"))
    return max(candidates, key=lambda h: h.ms) if candidates else None
