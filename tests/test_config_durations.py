"""Durations and byte sizes as config values: the forms OpenClaw accepts, bounds, keeping what
the user wrote, and ``contextPruning.ttl``'s bare numbers as minutes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.config.durations import (
    Duration,
    DurationError,
    duration_ms,
    duration_type,
    format_duration_ms,
    parse_duration_ms,
)
from core.config.schema import redacted_dump
from core.config.schema.sizes import byte_size
from tests.config_support import nest, validate


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("500ms", 500),
        ("30s", 30_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
        ("2d", 172_800_000),
        ("1h30m", 5_400_000),
        ("1m30s250ms", 90_250),
        ("1.5s", 1_500),
        ("0", 0),
        ("300000", 300_000),
        (" 5M ", 300_000),
        ("10MS", 10),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms
    assert duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "m", "5 minutes", "-5m", "5mm", "1.5", "5m-", "h1", "1w", "5 m"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration_ms(text)
    assert "expected" in str(info.value) or "empty" in str(info.value)


def test_duration_numbers_and_units() -> None:
    assert duration_ms(300000) == 300000
    assert duration_ms(5, default_unit="m") == 300_000
    assert parse_duration_ms("5", default_unit="m") == 300_000
    for bad in (True, -1, 1.5, None):
        with pytest.raises(DurationError):
            duration_ms(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("ms", [0, 1, 999, 1000, 60_000, 300_000, 5_400_000, 90_061_001])
def test_format_duration_round_trips(ms: int) -> None:
    assert duration_ms(format_duration_ms(ms)) == ms
    assert format_duration_ms(300_000) == "5m" and format_duration_ms(5_400_000) == "1h30m"


def test_duration_type_keeps_what_was_written() -> None:
    from pydantic import TypeAdapter

    adapter = TypeAdapter(Duration)
    assert adapter.validate_python("5m") == "5m"
    assert adapter.validate_python(300000) == 300000
    bounded = TypeAdapter(duration_type(min_ms=1000, max_ms=60_000))
    with pytest.raises(ValidationError, match="at least 1s"):
        bounded.validate_python("500ms")
    with pytest.raises(ValidationError, match="at most 1m"):
        bounded.validate_python("2m")
    config = validate(nest("agents.defaults.contextPruning.ttl", "10m"))
    assert config.agents.defaults.context_pruning.ttl == "10m"
    assert redacted_dump(config)["agents"]["defaults"]["contextPruning"]["ttl"] == "10m"


def test_byte_sizes() -> None:
    assert byte_size("1g") == 1024**3
    assert byte_size("512m") == 512 * 1024**2
    assert byte_size("20mb") == 20 * 1024**2
    assert byte_size("1GiB") == 1024**3
    assert byte_size(4096) == 4096
    for bad in ("1x", "ib", "-1m", True):
        with pytest.raises(ValueError):
            byte_size(bad)  # type: ignore[arg-type]


def test_pruning_ttl_bare_number_is_minutes_as_in_openclaw() -> None:
    """An OpenClaw config's ``ttl: 5`` keeps its meaning (five minutes); strings are unchanged."""
    pruning = validate(nest("agents.defaults.contextPruning.ttl", 5)).agents.defaults.context_pruning
    assert pruning.ttl == 5 and pruning.ttl_ms == 300_000
    assert validate(nest("agents.defaults.contextPruning.ttl", "90s")).agents.defaults.context_pruning.ttl_ms == 90_000
    assert validate(nest("agents.defaults.contextPruning.ttl", "0")).agents.defaults.context_pruning.ttl_ms == 0
