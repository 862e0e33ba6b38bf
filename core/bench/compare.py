"""A/B comparison of two stored bench runs (``clawtop bench compare``, the Bench pane).

Per model present in both runs and per metric (latency, TTFT, tokens/s): the medians and p95s,
the absolute and relative change, whether the change is outside the noise, whether it is a
regression, and the config dot-paths that differ between the two runs.

Noise: a change is *outside the noise* when neither median falls inside the other run's min–max
range — with 10 runs the spread is what run-to-run variation looks like, so a shift smaller than
it is not evidence of anything. A median that got worse by more than the threshold is *beyond the
threshold*; it is a *regression* (the verdict, and the count) only when it is also outside the
noise, so the verdict and the count never disagree (docs/design/bench.md#ab-comparison).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.bench.stats import HIGHER_IS_BETTER, Summary
from core.config.diff import changed_paths

__all__ = ["COMPARED", "Comparison", "MetricDelta", "compare", "parse_threshold"]

COMPARED: tuple[tuple[str, str], ...] = (
    ("latencyMs", "latency ms"), ("ttftMs", "ttft ms"), ("outputTokensPerSec", "tok/s"))
"""Metrics compared (JSON name, label), in display order."""

_SETTINGS = ("prompt", "promptMode", "maxTokens", "runs", "warmup", "concurrency", "timeoutMs", "retries", "preset")
"""Run settings (command-line values, not config keys) that also make two runs differ."""


def parse_threshold(text: str) -> float:
    """``"10%"`` or ``"10"`` → 0.10; ``"0.1"`` (≤ 1 without %) is taken as a fraction."""
    raw = text.strip()
    percent = raw.endswith("%")
    value = float(raw.rstrip("%"))
    if value < 0:
        raise ValueError("threshold must be ≥ 0")
    return value / 100 if percent or value > 1 else value


@dataclasses.dataclass(frozen=True, slots=True)
class MetricDelta:
    model: str
    metric: str
    label: str
    a: Summary
    b: Summary
    threshold: float

    @property
    def delta(self) -> float:
        return self.b.median - self.a.median

    @property
    def delta_p95(self) -> float:
        return self.b.p95 - self.a.p95

    @property
    def pct(self) -> float | None:
        return None if self.a.median == 0 else self.delta / self.a.median

    @property
    def worse(self) -> bool:
        return self.delta < 0 if self.metric in HIGHER_IS_BETTER else self.delta > 0

    @property
    def outside_noise(self) -> bool:
        a, b = self.a, self.b
        return not (a.min <= b.median <= a.max) and not (b.min <= a.median <= b.max)

    @property
    def regression(self) -> bool:
        """Worse by more than the threshold — a regression only if also :attr:`significant`."""
        pct = self.pct
        return self.worse and pct is not None and abs(pct) > self.threshold

    @property
    def significant(self) -> bool:
        """A regression: beyond the threshold and outside the noise (what the count counts)."""
        return self.regression and self.outside_noise

    @property
    def verdict(self) -> str:
        """One word per row, consistent with :attr:`Comparison.regressions`."""
        if self.significant:
            return "REGRESSION"
        if self.regression:
            return "worse (within noise)"
        if self.delta and not self.worse:
            return "better" if self.outside_noise else "better (within noise)"
        return "ok"

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "metric": self.metric, "a": self.a.as_json(), "b": self.b.as_json(),
                "delta": round(self.delta, 3), "deltaP95": round(self.delta_p95, 3),
                "pct": None if self.pct is None else round(self.pct * 100, 2),
                "outsideNoise": self.outside_noise, "beyondThreshold": self.regression,
                "regression": self.significant, "verdict": self.verdict}


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    rows: list[MetricDelta]
    only_a: list[str]
    only_b: list[str]
    config_paths: list[str]
    threshold: float

    @property
    def regressions(self) -> list[MetricDelta]:
        return [r for r in self.rows if r.significant]

    def as_json(self) -> dict[str, Any]:
        return {"a": _ident(self.run_a), "b": _ident(self.run_b), "threshold": self.threshold,
                "metrics": [r.as_json() for r in self.rows], "onlyA": self.only_a, "onlyB": self.only_b,
                "configChanges": self.config_paths, "regressions": len(self.regressions)}


def _ident(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("runId", "tag", "startedAt", "configHash")}


def compare(doc_a: dict[str, Any], config_a: dict[str, Any], doc_b: dict[str, Any], config_b: dict[str, Any],
            *, threshold: float = 0.10) -> Comparison:
    """Compare run B against baseline A."""
    models_a = {m["ref"]: m["summary"] for m in doc_a["models"]}
    models_b = {m["ref"]: m["summary"] for m in doc_b["models"]}
    rows = [
        MetricDelta(ref, metric, label, Summary.from_json(models_a[ref].get(metric)),
                    Summary.from_json(models_b[ref].get(metric)), threshold)
        for ref in models_a if ref in models_b for metric, label in COMPARED
    ]
    paths = changed_paths(config_a, config_b)
    paths += [f"run.{key}" for key in _SETTINGS if doc_a.get(key) != doc_b.get(key)]
    return Comparison(doc_a, doc_b, rows, [m for m in models_a if m not in models_b],
                      [m for m in models_b if m not in models_a], paths, threshold)
