"""Statistics of a bench: OpenClaw's median, nearest-rank p95, min, max, mean and the spread.

Why OpenClaw's median (rounded mean of the two middle values for an even count) and not
``statistics.median``: docs/design/bench.md#baseline, docs/design/bench.md#clawtop-bench — figures printed by ``clawtop
bench`` must be comparable with ``bench-model.ts`` output byte for byte on the same latencies.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["METRICS", "Summary", "median", "p95", "round_half_up", "summarize", "usage_totals"]

METRICS: tuple[str, ...] = ("latencyMs", "ttftMs", "outputTokensPerSec", "tpotMs")
"""The per-run measures that get a :class:`Summary` (JSON names, docs/design/bench.md#clawtop-bench)."""

HIGHER_IS_BETTER: frozenset[str] = frozenset({"outputTokensPerSec"})
"""Metrics where a drop (not a rise) is a regression."""


def round_half_up(value: float, ndigits: int = 0) -> float:
    """JavaScript's ``Math.round`` (half up), not Python's banker's rounding: 2.5 → 3."""
    scale: float = 10**ndigits
    return math.floor(value * scale + 0.5) / scale


def median(values: Sequence[float], ndigits: int = 0) -> float:
    """OpenClaw's median: sorted; odd → the middle value; even → the mean of the two middle
    values rounded half up (to ``ndigits``; 0 = whole ms, as OpenClaw); empty → 0."""
    if not values:
        return 0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return round_half_up((ordered[mid - 1] + ordered[mid]) / 2, ndigits)


def p95(values: Sequence[float]) -> float:
    """Nearest rank: the value at rank ``ceil(0.95 × n)`` (1-based) of the sorted list; 0 if empty.
    Always an observed value, never an interpolation."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """One metric over one model's measured runs. ``spread`` = max − min, the noise band
    ``bench compare`` tests changes against."""

    median: float
    min: float
    max: float
    p95: float
    mean: float
    n: int

    @property
    def spread(self) -> float:
        return self.max - self.min

    def as_json(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max, "p95": self.p95, "mean": self.mean}

    @classmethod
    def of(cls, values: Sequence[float], ndigits: int = 0) -> Summary:
        """Summary of ``values`` (an empty list gives zeros with ``n = 0``)."""
        if not values:
            return cls(0, 0, 0, 0, 0, 0)
        mean = round_half_up(sum(values) / len(values), 2)
        return cls(median(values, ndigits), min(values), max(values), p95(values), mean, len(values))

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Summary:
        data = data or {}

        def num(key: str) -> float:
            return float(data.get(key) or 0)

        return cls(num("median"), num("min"), num("max"), num("p95"), num("mean"), n=0)


_NDIGITS = {"latencyMs": 0, "ttftMs": 0, "outputTokensPerSec": 2, "tpotMs": 2}
"""Rounding of an even-count median: whole ms as OpenClaw for times, 2 decimals for rates."""

USAGE_KEYS = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "totalTokens")


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The docs/design/bench.md#clawtop-bench ``summary`` of one model's results (JSON-shaped dicts): statistics over
    the successful, non-warm-up runs; ``ok``/``failed`` count every measured run, and ``errors``
    counts failures by class so none is dropped silently."""
    measured = [r for r in results if not r.get("warmup")]
    ok = [r for r in measured if r.get("ok")]
    out: dict[str, Any] = {}
    for metric in METRICS:
        values = [float(r[metric]) for r in ok if r.get(metric) is not None]
        out[metric] = Summary.of(values, _NDIGITS[metric]).as_json()
    out["usage"] = usage_totals(ok)
    out["ok"] = len(ok)
    out["failed"] = len(measured) - len(ok)
    errors: dict[str, int] = {}
    for r in measured:
        if not r.get("ok"):
            key = str(r.get("errorClass") or "unknown")
            errors[key] = errors.get(key, 0) + 1
    out["errors"] = errors
    out["costUsd"] = round(sum(float(r.get("costUsd") or 0) for r in ok), 6)
    out["retries"] = sum(max(0, int(r.get("attempts") or 1) - 1) for r in measured)
    out["retrySleepMs"] = sum(int(r.get("retrySleepMs") or 0) for r in measured)
    return out


def usage_totals(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Sums and means of each usage count (spec: "Usage: sums and means")."""
    n = len(results)
    usage: dict[str, dict[str, float]] = {}
    for key in USAGE_KEYS:
        total = sum(int(r.get(key) or 0) for r in results)
        usage[key] = {"sum": total, "mean": round(total / n, 2) if n else 0}
    return usage
