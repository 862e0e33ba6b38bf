"""Bench pane: model benchmark runs (filled by the bench capability)."""

from __future__ import annotations

from tui.panes.base import Pane


class BenchPane(Pane):
    PANE_TITLE = "Bench"
    HELP_LINE = "Model benchmarks: TTFT, tokens/s."
    WAITING = "Waiting for the bench capability: no benchmark runs yet."
    HELP = """\
## Bench

Benchmark runs per model: time to first token, tokens per second, full usage,
median / min / max / p95, tagged with the config hash they ran under for A/B compares.

Data arrives with the bench capability; until then this pane only says so.
"""
