"""Bench event kinds: a run started, progressed, finished.

No event carries prompt or reply text (docs/design/retry.md#retry-events); results themselves go to the bench
tables (:mod:`core.bench.store`), the events only let the dashboard follow a run live.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from core.events.base import Event, register_kind

__all__ = ["BenchOutcome", "BenchRunFinished", "BenchRunProgress", "BenchRunStarted"]

BenchOutcome = Literal["ok", "interrupted"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BenchRunStarted(Event):
    """A bench run began; ``total`` = (warm-up + measured runs) × models."""

    kind = "bench.run_started"
    run_id: str
    models: tuple[str, ...]
    runs: int
    warmup: int
    total: int
    tag: str | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BenchRunProgress(Event):
    """One run of one model finished. Coalescable: a newer one for the same ``run_id``
    supersedes an older one (``done`` is cumulative), so a UI that falls behind shows only the
    latest."""

    kind = "bench.run_progress"
    coalesce_key: ClassVar[str] = "run_id"
    run_id: str
    model: str
    i: int
    warmup: bool
    ok: bool
    latency_ms: float | None
    error_class: str | None
    done: int
    total: int


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BenchRunFinished(Event):
    """The run ended and is stored. ``outcome`` is ``ok`` (all runs done, failures included)
    or ``interrupted`` (stopped early; the finished runs were kept)."""

    kind = "bench.run_finished"
    run_id: str
    outcome: BenchOutcome
    ok: int
    failed: int
    tag: str | None = None
