"""Context model: the newest report wins; thresholds sit where the pruner and compaction act."""

from __future__ import annotations

from core.config.schema import ClawtopConfig
from core.context.events import ContextReportUpdated, ContextWindowGuard
from tui.models.context import ContextModel, marker_positions


def report(session: str, tokens: int) -> ContextReportUpdated:
    return ContextReportUpdated(session_id=session, model="sim/fast", window_tokens=100_000, window_source="model",
                                estimated_tokens=tokens, free_tokens=100_000 - tokens, reserved_output_tokens=0,
                                categories={"user": tokens}, thresholds={"softTrim": 1000}, chars_per_token=4.0)


def test_the_last_report_of_a_batch_is_kept() -> None:
    model = ContextModel()
    assert model.report is None
    assert not model.apply([ContextWindowGuard(model="m", tokens=1000, source="model", level="warn",
                                               warn_below=32000, block_below=16000)])
    assert model.apply([report("a", 10), report("b", 20)])
    assert model.report is not None and model.report.session_id == "b"
    assert not model.apply([])
    assert model.report.session_id == "b"


def test_markers_follow_the_pruning_ratios_and_the_compaction_reserve() -> None:
    config = ClawtopConfig.model_validate({"agents": {"defaults": {
        "contextPruning": {"softTrimRatio": 0.3, "hardClearRatio": 0.5},
        "compaction": {"reserveTokens": 20_000, "reserveTokensFloor": 10_000}}}})
    assert marker_positions(100_000, config) == {"soft trim": 30_000, "hard clear": 50_000, "compaction": 80_000}
    assert marker_positions(5_000, config)["compaction"] == 0
