"""Value types of ``sandbox.docker`` resource keys: limits with an ``"unlimited"`` opt-out, the
setup command and ulimits (docs/design/sandbox.md#docker-keys, docs/design/sandbox.md#resource-flags,
docs/design/sandbox.md#safer-default-limits).

Each is one plain validator rather than a pydantic union, so a bad value gives a single message
located at the key itself (no union-member names in the error location, which the loader maps to
the file's dotted path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, Self

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema, model_validator

from core.config.schema.base import StrictModel, raise_at
from core.config.schema.sizes import SIZE_PATTERN, byte_size

__all__ = ["UNLIMITED", "CpuLimit", "MemoryLimit", "PidsLimit", "SetupCommand", "UlimitRange", "UlimitValue"]

UNLIMITED = "unlimited"
"""Per-key opt-out of clawtop's default limits (docs/design/sandbox.md#safer-default-limits)."""

_MIN_MEMORY = 6 * 1024**2  # Docker refuses a memory limit below 6m.


def _unlimited_or(value: object, check: Callable[[object], object], what: str) -> object:
    # One validator per key (not a pydantic union) so an error is one message at the key itself,
    # without union-member names in its location.
    if value == UNLIMITED:
        return value
    if value in (-1, "-1"):
        raise ValueError(f'use "unlimited" instead of -1 for {what}')
    return check(value)


def _pids(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4_194_304:
        raise ValueError(f'{value!r} is not a process limit; expected a whole number ≥ 1 or "unlimited"')
    return value


def _cpus(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1024:
        raise ValueError(f'{value!r} is not a CPU limit; expected a number of cores > 0 (e.g. 1.5) or "unlimited"')
    return float(value)


def _memory(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f'{value!r} is not a memory size; expected e.g. "512m", "1g", a byte count, or "unlimited"')
    if byte_size(value) < _MIN_MEMORY:
        raise ValueError(f"{value!r} is below Docker's minimum of 6m")
    return value


PidsLimit = Annotated[
    int | Literal["unlimited"],
    PlainValidator(lambda v: _unlimited_or(v, _pids, "pidsLimit")),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"const": UNLIMITED}]}),
]
CpuLimit = Annotated[
    float | Literal["unlimited"],
    PlainValidator(lambda v: _unlimited_or(v, _cpus, "cpus")),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1024}, {"const": UNLIMITED}]}),
]
MemoryLimit = Annotated[
    int | str,
    PlainValidator(lambda v: _unlimited_or(v, _memory, "memory")),
    WithJsonSchema({"anyOf": [
        {"type": "string", "pattern": SIZE_PATTERN},
        {"type": "integer", "minimum": _MIN_MEMORY},
        {"const": UNLIMITED},
    ]}),
]
"""A Docker memory value (``"512m"``, ``"1g"``, bytes; at least ``6m``) or ``"unlimited"``."""


def _setup_command(value: object) -> object:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return value
    raise ValueError("setupCommand must be a non-empty string or a list of non-empty strings")


SetupCommand = Annotated[
    str | list[str],
    PlainValidator(_setup_command),
    WithJsonSchema({"anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]}),
]


class UlimitRange(StrictModel):
    """A ulimit with separate soft and hard values (``--ulimit name=soft:hard``)."""

    soft: int | None = Field(None, ge=0)
    """Soft limit (what the process gets; it may raise it up to ``hard``). Unset = ``hard``."""

    hard: int | None = Field(None, ge=0)
    """Hard limit (ceiling for the soft limit). Unset = ``soft``."""

    @model_validator(mode="after")
    def _one_side_and_ordered(self) -> Self:
        if self.soft is None and self.hard is None:
            raise ValueError("give soft, hard or both")
        if self.soft is not None and self.hard is not None and self.soft > self.hard:
            raise_at(
                "UlimitRange",
                [(("soft",), "ulimit_order", f"soft ({self.soft}) must be ≤ hard ({self.hard})", self.soft)],
            )
        return self


def _ulimit(value: object) -> object:
    if isinstance(value, dict):
        return UlimitRange.model_validate(value)
    if isinstance(value, UlimitRange):
        return value
    if isinstance(value, bool):
        raise ValueError('a ulimit is a number, "soft:hard", or {soft, hard}')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a ulimit must be ≥ 0")
        return value
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) > 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f'{value!r} is not a ulimit; expected a number or "soft:hard"')
        if len(parts) == 2 and int(parts[0]) > int(parts[1]):
            raise ValueError(f"{value!r}: soft must be ≤ hard")
        return value
    raise ValueError('a ulimit is a number, "soft:hard", or {soft, hard}')


def _dump_ulimit(value: object) -> object:
    return value.model_dump(by_alias=True) if isinstance(value, UlimitRange) else value


UlimitValue = Annotated[
    int | str | UlimitRange,
    PlainValidator(_ulimit),
    PlainSerializer(_dump_ulimit),
    WithJsonSchema({
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": r"^\d+(:\d+)?$"},
            {
                "type": "object",
                "properties": {"soft": {"type": "integer", "minimum": 0}, "hard": {"type": "integer", "minimum": 0}},
                "additionalProperties": False,
                "minProperties": 1,
            },
        ]
    }),
]
