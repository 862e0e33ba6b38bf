"""Durations as OpenClaw writes them: ``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"2d"``, composites
like ``"1h30m"``, or a bare integer of milliseconds (of minutes for ``contextPruning.ttl``).

OpenClaw's parser (``src/cli/parse-duration.ts``, docs/design/pruning.md#settings-and-defaults) accepts the units
``ms``, ``s``, ``m``, ``h``, ``d`` and composites. A bare number is milliseconds, except where OpenClaw
reads it in another unit: ``contextPruning.ttl`` takes bare numbers as *minutes*, as OpenClaw does,
so an OpenClaw config keeps its meaning (``ttl: 5`` is five minutes; ``"0"`` disables pruning).
Such fields declare it with ``duration_type(default_unit="m")`` and convert with the same unit.

A second difference: OpenClaw silently keeps the default when a duration does not parse; clawtop
rejects it at load time with a message naming the accepted forms (strict validation, exit 78).

The config keeps what the user wrote (``config get`` prints ``"5m"``, and write-back does not
rewrite ``"5m"`` as ``300000``); code that needs a number calls :func:`duration_ms`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

__all__ = [
    "UNIT_MS",
    "Duration",
    "DurationBounds",
    "DurationError",
    "duration_ms",
    "duration_type",
    "format_duration_ms",
    "parse_duration_ms",
]

UNIT_MS: dict[str, int] = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}
"""Milliseconds per unit; the unit names are OpenClaw's."""

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", re.IGNORECASE)
_COMPOSITE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+", re.IGNORECASE)
_BARE = re.compile(r"\d+")

_ACCEPTED = 'a duration like "500ms", "30s", "5m", "1h", "2d", "1h30m", or a whole number of milliseconds'

DURATION_PATTERN = r"^\s*(?:\d+|(?:\d+(?:\.\d+)?(?:[mM][sS]|[sSmMhHdD]))+)\s*$"
"""The accepted string forms as a JSON Schema ``pattern`` (editor completion and linting)."""


@dataclasses.dataclass(frozen=True, slots=True)
class DurationBounds:
    """Marker on a duration type's ``Annotated`` metadata (pydantic ignores it): the bounds in ms and
    the unit of a bare number, so the tuning catalogue can show them without parsing messages."""

    min_ms: int
    max_ms: int | None
    default_unit: str


class DurationError(ValueError):
    """A value is not a duration; the message says what was found and what is accepted."""


def parse_duration_ms(text: str, *, default_unit: str = "ms") -> int:
    """Parse a duration string into whole milliseconds (fractions round to the nearest ms).

    ``default_unit`` applies to a bare number (``"300"``); it is ``"ms"`` for clawtop keys and
    exists so a caller can reproduce OpenClaw's minutes-by-default reading when importing an
    OpenClaw file. Units are case-insensitive, surrounding whitespace is ignored, and negative
    or empty values are rejected.
    """
    if default_unit not in UNIT_MS:
        raise ValueError(f"unknown default unit {default_unit!r}; expected one of {', '.join(UNIT_MS)}")
    raw = text.strip()
    if not raw:
        raise DurationError(f"empty duration; expected {_ACCEPTED}")
    if _BARE.fullmatch(raw):
        return int(raw) * UNIT_MS[default_unit]
    if not _COMPOSITE.fullmatch(raw):
        raise DurationError(f"{text!r} is not a duration; expected {_ACCEPTED}")
    total = 0.0
    for number, unit in _PART.findall(raw):
        total += float(number) * UNIT_MS[unit.lower()]
    if not math.isfinite(total):
        raise DurationError(f"{text!r} is too large")
    return round(total)


def duration_ms(value: str | int | float, *, default_unit: str = "ms") -> int:
    """Milliseconds for a config duration value (a string as written in the file, or a number).

    Numbers are taken as ``default_unit`` (milliseconds unless told otherwise) and must be whole
    and non-negative; booleans are rejected even though Python treats them as integers.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; expected {_ACCEPTED}")
    if isinstance(value, int):
        if value < 0:
            raise DurationError(f"{value} is negative; a duration must be ≥ 0")
        return value * UNIT_MS[default_unit]
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer():
            raise DurationError(f"{value!r} is not a whole, non-negative number of milliseconds")
        return int(value) * UNIT_MS[default_unit]
    if isinstance(value, str):
        return parse_duration_ms(value, default_unit=default_unit)
    raise DurationError(f"{type(value).__name__} is not a duration; expected {_ACCEPTED}")


def format_duration_ms(ms: int) -> str:
    """Shortest composite string for a millisecond count (``300000`` → ``"5m"``, ``5400000`` → ``"1h30m"``).

    Used when a number has to be written back into a duration-typed key.
    """
    if ms < 0:
        raise ValueError("a duration must be ≥ 0")
    if ms == 0:
        return "0"
    parts: list[str] = []
    rest = ms
    for unit in ("d", "h", "m", "s", "ms"):
        size = UNIT_MS[unit]
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def duration_type(*, min_ms: int = 0, max_ms: int | None = None, default_unit: str = "ms") -> Any:
    """An ``Annotated`` type for a duration-valued config key with bounds in milliseconds.

    The validated value is exactly what the user wrote (``"5m"`` stays ``"5m"``, ``300000`` stays
    ``300000``); a value that does not parse, or parses outside ``[min_ms, max_ms]``, fails with a
    message that names the accepted forms and the limit.
    """

    def _check(value: Any) -> str | int:
        # One plain validator (not a str|int union) so a bad value gives one message located at
        # the key itself; bools and floats are refused rather than coerced.
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DurationError(f"{value!r} is not a duration; expected {_ACCEPTED}")
        ms = duration_ms(value, default_unit=default_unit)
        if ms < min_ms:
            raise DurationError(f"{value!r} is {ms} ms; it must be at least {format_duration_ms(min_ms)}")
        if max_ms is not None and ms > max_ms:
            raise DurationError(f"{value!r} is {ms} ms; it must be at most {format_duration_ms(max_ms)}")
        return value

    schema: dict[str, Any] = {
        "anyOf": [
            {"type": "string", "pattern": DURATION_PATTERN},
            {
                "type": "integer",
                "minimum": -(-min_ms // UNIT_MS[default_unit]),
                **({"maximum": max_ms // UNIT_MS[default_unit]} if max_ms is not None else {}),
            },
        ],
        "description": f"Duration: {_ACCEPTED}.",
    }
    return Annotated[
        str | int,
        PlainValidator(_check),
        WithJsonSchema(schema),
        DurationBounds(min_ms, max_ms, default_unit),
    ]


Duration = duration_type()
"""A non-negative duration, kept as written (``"5m"`` or ``300000``)."""
