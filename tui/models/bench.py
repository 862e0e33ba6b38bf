"""Bench pane state from the bus: whether runs can start, and the live progress of a run."""

from __future__ import annotations

from collections.abc import Iterable

from core.bench.events import BenchRunProgress
from core.events import Event, GatewayStarted, GatewayStopped

__all__ = ["BenchModel"]


class BenchModel:
    """``ready``: the gateway runs (None until an event says either way); ``progress``: the
    newest ``(done, total)`` of a run (progress events are cumulative, so only the last counts)."""

    def __init__(self) -> None:
        self.ready: bool | None = None
        self.progress: tuple[int, int] | None = None

    def apply(self, events: Iterable[Event]) -> bool:
        """Fold a batch; True when ``ready`` or ``progress`` was set by it."""
        changed = False
        for event in events:
            match event:
                case GatewayStarted():
                    self.ready = True
                case GatewayStopped():
                    self.ready = False
                case BenchRunProgress():
                    self.progress = (event.done, event.total)
                case _:
                    continue
            changed = True
        return changed
