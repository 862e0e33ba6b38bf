"""Bench model: readiness from the gateway's lifecycle events, and the newest run progress."""

from __future__ import annotations

from core.bench.events import BenchRunFinished, BenchRunProgress
from core.events import GatewayStarted, GatewayStopped
from tui.models.bench import BenchModel


def progress(done: int, total: int = 4) -> BenchRunProgress:
    return BenchRunProgress(run_id="r1", model="sim/fast", i=done, warmup=False, ok=True, latency_ms=10.0,
                            error_class=None, done=done, total=total)


def test_bench_ready_follows_the_gateway_and_progress_keeps_the_newest() -> None:
    model = BenchModel()
    assert model.ready is None and model.progress is None
    assert not model.apply([BenchRunFinished(run_id="r1", outcome="ok", ok=4, failed=0)])
    assert model.apply([GatewayStarted(config_source="defaults", state_dir="/tmp"), progress(1), progress(3)])
    assert model.ready is True and model.progress == (3, 4)
    assert model.apply([GatewayStopped()])
    assert model.ready is False and model.progress == (3, 4)
