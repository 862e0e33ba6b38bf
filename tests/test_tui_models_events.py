"""Events model: time origin from the gateway's start, identical runs merged, floods summed up."""

from __future__ import annotations

from core.events import GatewayStarted, LogMessage
from tui.models.events import FLOOD_ROWS, EventsModel, merge_runs


def log(message: str) -> LogMessage:
    return LogMessage(level="info", message=message)


def test_identical_consecutive_events_merge_into_one_row() -> None:
    rows = merge_runs([log("a"), log("a"), log("b"), log("a")])
    assert [(row.event.message, row.count) for row in rows] == [("a", 2), ("b", 1), ("a", 1)]  # type: ignore[attr-defined]


def test_origin_counters_and_flood_summary() -> None:
    model = EventsModel(origin=5.0)
    batch = model.apply([log("x"), GatewayStarted(config_source="defaults", state_dir="/tmp", mono=42.0), log("x")])
    assert model.origin == 42.0 and model.seen == 3 and model.merged == 0 and not batch.hidden
    flood = [log(str(i)) for i in range(FLOOD_ROWS + 10)] + [log("same")] * 5
    batch = model.apply(flood)
    assert len(batch.rows) == FLOOD_ROWS and batch.rows[-1].count == 5
    # 211 rows (210 distinct lines, one run of 5): the 11 oldest are summed up by kind.
    assert batch.hidden == (("log", 11),)
    assert model.seen == 3 + len(flood) and model.merged == 4 + 11
