"""Helpers shared by the config schema tests: validate a document, collect error locations,
and build a nested document from a dotted path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from core.config.schema import ClawtopConfig


def validate(data: dict[str, Any]) -> ClawtopConfig:
    return ClawtopConfig.model_validate(data)


def errors_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        validate(data)
    return info.value.errors()


def locs_of(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [tuple(e["loc"]) for e in errors_of(data)]


def nest(path: str, value: Any) -> dict[str, Any]:
    """``nest("a.b.c", 1)`` → ``{"a": {"b": {"c": 1}}}``."""
    out: Any = value
    for key in reversed(path.split(".")):
        out = {key: out}
    return out
