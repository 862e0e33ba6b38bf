"""Event kinds of the telemetry store: a damaged database moved aside.

Published so a damaged ``telemetry.sqlite3`` is said out loud (Events pane, ``clawtop events``,
the gateway log) instead of crashing the gateway or silently losing every later event.
"""

from __future__ import annotations

import dataclasses

from core.events.base import Event, register_kind

__all__ = ["TelemetryDatabaseReplaced"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TelemetryDatabaseReplaced(Event):
    """The store could not use ``path`` and writes to ``active_path`` instead. ``kept_as`` is where
    the damaged file (or directory) was moved, kept for inspection ("" when nothing was moved: the
    path could not be opened at all, e.g. no permission); ``active_path`` differs from ``path``
    only when not even a fresh file could be made there, and then names a temporary database
    that lives as long as the gateway."""

    kind = "telemetry.replaced"
    path: str
    reason: str
    kept_as: str
    active_path: str
