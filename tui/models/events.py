"""Events pane state: the time origin, counters, and each batch reduced to the rows it shows.

Consecutive identical events (same kind and payload) merge into one row with a count; a burst
bigger than :data:`FLOOD_ROWS` keeps its newest rows and sums the rest up by kind.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from collections.abc import Iterable, Sequence

from core.events import Event, GatewayStarted

__all__ = ["FLOOD_ROWS", "EventRow", "EventsBatch", "EventsModel", "merge_runs"]

FLOOD_ROWS = 200
"""At most this many rows per batch; older rows of a bigger batch become one summary line."""


@dataclasses.dataclass(frozen=True, slots=True)
class EventRow:
    """One shown line: the last event of a run of identical ones, and the run's length."""

    event: Event
    count: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class EventsBatch:
    """What a batch adds to the log: ``hidden`` (kind → events) summed up in one line first,
    then ``rows``."""

    rows: tuple[EventRow, ...]
    hidden: tuple[tuple[str, int], ...] = ()


def merge_runs(events: Iterable[Event]) -> list[EventRow]:
    """Collapse consecutive events with the same kind and payload into one row each."""
    rows: list[EventRow] = []
    last_key: tuple[str, str] | None = None
    for event in events:
        key = (event.kind, json.dumps(event.payload(), sort_keys=True, default=str))
        if key == last_key:
            rows[-1] = EventRow(event, rows[-1].count + 1)
        else:
            rows.append(EventRow(event))
            last_key = key
    return rows


class EventsModel:
    """``origin``: monotonic time shown as +0:00.000 (the last ``GatewayStarted``, or what the
    app sets before one arrives); ``seen`` and ``merged`` count events."""

    def __init__(self, origin: float = 0.0) -> None:
        self.origin = origin
        self.seen = 0
        self.merged = 0

    def apply(self, events: Sequence[Event]) -> EventsBatch:
        for event in reversed(events):
            if isinstance(event, GatewayStarted):
                self.origin = event.mono
                break
        rows = merge_runs(events)
        self.seen += len(events)
        self.merged += len(events) - len(rows)
        hidden: tuple[tuple[str, int], ...] = ()
        if len(rows) > FLOOD_ROWS:
            older, rows = rows[:-FLOOD_ROWS], rows[-FLOOD_ROWS:]
            counts: collections.Counter[str] = collections.Counter()
            for row in older:
                counts[row.event.kind] += row.count
            hidden = tuple(counts.most_common())
            self.merged += len(older)
        return EventsBatch(tuple(rows), hidden)
