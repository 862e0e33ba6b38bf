"""Byte sizes as written in config files: ``"1g"``, ``"512m"``, ``"20mb"``, or a byte count.

Used for Docker memory limits (docs/design/sandbox.md#safer-default-limits: "a number with optional unit ``b``, ``k``,
``m``, ``g`` (case-insensitive) or a byte count") and transcript-size thresholds (OpenClaw's
``maxActiveTranscriptBytes: "20mb"``, docs/design/compaction.md#triggers). Units are binary (1k = 1024), as Docker
reads them; the optional ``b`` / ``ib`` suffix is accepted (``"1gb"``, ``"1gib"``) because Docker
accepts it too. Like durations, the value is kept as written and converted with
:func:`byte_size`.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

__all__ = ["SIZE_PATTERN", "byte_size", "byte_size_type", "format_byte_size"]

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_ACCEPTED = 'a size like "512m", "1g", "20mb", or a whole number of bytes'

SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([kKmMgGtT]?)([iI]?[bB])?\s*$"
"""The accepted string forms as a JSON Schema ``pattern``."""


def byte_size(value: str | int) -> int:
    """Bytes for a size value: an integer byte count or a string with an optional binary unit.

    Fractions are allowed in strings (``"1.5g"``) and round down to whole bytes; negative
    values, booleans and unknown units are rejected with a message naming the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size; expected {_ACCEPTED}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative; a size must be ≥ 0")
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a size; expected {_ACCEPTED}")
        number, unit, suffix = match.groups()
        if suffix and suffix.lower() == "ib" and not unit:
            raise ValueError(f"{value!r} is not a size; expected {_ACCEPTED}")
        total = float(number) * _UNITS[unit.lower()]
        if not math.isfinite(total):
            raise ValueError(f"{value!r} is too large")
        return int(total)
    raise ValueError(f"{type(value).__name__} is not a size; expected {_ACCEPTED}")


def format_byte_size(size: int) -> str:
    """Largest exact binary unit for a byte count (``1073741824`` → ``"1g"``, ``1000`` → ``"1000"``)."""
    for unit in ("t", "g", "m", "k"):
        step = _UNITS[unit]
        if size and size % step == 0:
            return f"{size // step}{unit}"
    return str(size)


def byte_size_type(*, min_bytes: int = 0, max_bytes: int | None = None) -> Any:
    """An ``Annotated`` type for a size-valued key with bounds in bytes; keeps the value as written."""

    def _check(value: Any) -> str | int:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"{value!r} is not a size; expected {_ACCEPTED}")
        size = byte_size(value)
        if size < min_bytes:
            raise ValueError(f"{value!r} is {size} bytes; it must be at least {format_byte_size(min_bytes)}")
        if max_bytes is not None and size > max_bytes:
            raise ValueError(f"{value!r} is {size} bytes; it must be at most {format_byte_size(max_bytes)}")
        return value

    schema: dict[str, Any] = {
        "anyOf": [
            {"type": "string", "pattern": SIZE_PATTERN},
            {"type": "integer", "minimum": min_bytes, **({"maximum": max_bytes} if max_bytes is not None else {})},
        ],
        "description": f"Size: {_ACCEPTED} (binary units, 1k = 1024).",
    }
    return Annotated[
        str | int,
        PlainValidator(_check),
        WithJsonSchema(schema),
    ]
