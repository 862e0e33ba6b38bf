"""Context pane state: the last context report, and where the thresholds sit in its window."""

from __future__ import annotations

from collections.abc import Iterable

from core.config.schema import ClawtopConfig
from core.context.events import ContextReportUpdated
from core.events import Event

__all__ = ["ContextModel", "marker_positions"]


def marker_positions(window: int, config: ClawtopConfig) -> dict[str, int]:
    """Token positions of the thresholds: soft trim and hard clear (ratios of the window, as the
    pruner uses them) and compaction (window − reserve, docs/design/dashboard.md#attributes-down-messages-up)."""
    defaults = config.agents.defaults
    pruning, compaction = defaults.context_pruning, defaults.compaction
    reserve = max(compaction.reserve_tokens, compaction.reserve_tokens_floor)
    return {
        "soft trim": int(window * pruning.soft_trim_ratio),
        "hard clear": int(window * pruning.hard_clear_ratio),
        "compaction": max(0, window - reserve),
    }


class ContextModel:
    """The newest :class:`ContextReportUpdated` seen (a report replaces the previous one)."""

    def __init__(self) -> None:
        self.report: ContextReportUpdated | None = None

    def apply(self, events: Iterable[Event]) -> bool:
        """Keep the batch's last report; True when there was one."""
        latest = None
        for event in events:
            if isinstance(event, ContextReportUpdated):
                latest = event
        if latest is None:
            return False
        self.report = latest
        return True
