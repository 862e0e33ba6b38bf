"""The ``config.tuned`` event: one per applied (or undone) tuning, stored like every event, so the Events
pane, ``clawtop events`` and the tuning history agree on what changed, when, from where and how it applies
(docs/design/tuning.md#the-journal-and-the-event)."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.events.base import Event, register_kind

__all__ = ["ConfigTuned"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConfigTuned(Event):
    """A tuning was written to the config file(s).

    ``changes`` holds ``(path, old, new)`` per changed key (JSON values, secrets redacted; ``None`` = unset);
    ``origin`` is ``dashboard`` / ``cli`` / ``api``; ``reload`` maps each path to its reload kind (``hot``,
    ``restart``, ``docker-update`` …); ``files`` are the files written. ``undo_of`` names the tuning this one
    reverts; ``note`` says what the user must know (a file created, an undo that could not be exact).
    """

    kind = "config.tuned"
    tuning_id: str
    changes: tuple[tuple[str, Any, Any], ...] = ()
    origin: str = "api"
    reload: dict[str, str] = dataclasses.field(default_factory=dict)
    files: tuple[str, ...] = ()
    undo_of: str | None = None
    note: str = ""
