"""Prunes pane state: the log of prune decisions, oldest first, live ones and stored ones.

A decision read back from the telemetry store and the same decision seen live share their wall
time and session, so neither is listed twice. Stored decisions carry no before/after text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from core.events import Event
from core.pruning.events import PruneDecision
from core.telemetry.records import StoredEvent

__all__ = ["MAX_DECISIONS", "PrunesModel", "decision_from_stored"]

MAX_DECISIONS = 500
"""Decisions kept in the log; the oldest go first."""

_DECISION_FIELDS = frozenset(f.name for f in dataclasses.fields(PruneDecision)) - {"mono", "wall"}

Identity = tuple[float, str | None]


def decision_from_stored(stored: StoredEvent) -> PruneDecision:
    """A :class:`PruneDecision` rebuilt from a stored row (unknown payload keys ignored)."""
    fields = {k: v for k, v in stored.payload.items() if k in _DECISION_FIELDS}
    if "touched" in fields:
        fields["touched"] = tuple(fields["touched"] or ())
    return PruneDecision(wall=stored.wall, mono=stored.mono, **fields)


def _identity(d: PruneDecision) -> Identity:
    """What a live decision and its stored copy share: wall time and session."""
    return (d.wall, d.session_id)


class PrunesModel:
    """Row key → decision, oldest first: ``d<n>`` for live ones, ``s<store id>`` for stored."""

    def __init__(self, max_decisions: int = MAX_DECISIONS) -> None:
        self.max_decisions = max_decisions
        self.decisions: dict[str, PruneDecision] = {}
        self.stored_keys: set[str] = set()
        """Keys of decisions loaded from the store: they have no before/after text."""
        self._identities: set[Identity] = set()
        self._seq = 0

    def apply(self, events: Iterable[Event]) -> bool:
        """Add the new live decisions of a batch; True when any was added."""
        added = False
        for event in events:
            if isinstance(event, PruneDecision) and _identity(event) not in self._identities:
                self._seq += 1
                self.decisions[f"d{self._seq}"] = event
                self._identities.add(_identity(event))
                added = True
        if added:
            self._trim()
        return added

    def add_stored(self, decisions: Iterable[tuple[int, PruneDecision]]) -> bool:
        """Add ``(store id, decision)`` pairs given newest first, below the live ones; True when
        any was new."""
        older: dict[str, PruneDecision] = {}
        for store_id, decision in reversed(list(decisions)):  # oldest first
            key = f"s{store_id}"
            if key in self.decisions or _identity(decision) in self._identities:
                continue  # already listed (it arrived live too)
            older[key] = decision
            self._identities.add(_identity(decision))
            self.stored_keys.add(key)
        if not older:
            return False
        self.decisions = {**older, **self.decisions}  # stored ones are older than the live ones
        self._trim()
        return True

    def _trim(self) -> None:
        while len(self.decisions) > self.max_decisions:
            key = next(iter(self.decisions))
            self._identities.discard(_identity(self.decisions.pop(key)))
            self.stored_keys.discard(key)
