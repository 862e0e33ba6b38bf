"""Model benchmarks (docs/design/bench.md#clawtop-bench): the runner, its statistics, storage, comparison
and export. No UI imports: ``clawtop bench`` and the dashboard's Bench pane both drive it."""

from core.bench.events import BenchRunFinished, BenchRunProgress, BenchRunStarted
from core.bench.presets import PRESETS, Preset
from core.bench.runner import BenchRunner, BenchSpec, run_and_store

__all__ = ["PRESETS", "BenchRunFinished", "BenchRunProgress", "BenchRunStarted", "BenchRunner", "BenchSpec",
           "Preset", "run_and_store"]
