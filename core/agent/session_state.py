"""What the agent keeps in memory about a session between its model calls and turns.

Why in memory and per session id: the transcript is the durable record, but three things are
needed between calls that either are not on disk yet or are costly to rebuild — the TTL clock
of cache-TTL pruning (docs/design/pruning.md#the-ttl-clock: the in-memory ``lastCacheTouchAt`` and the sticky decisions,
seeded from the transcript's cache-touch marker at run start), the system prompt last built (its parts
feed calibration and the ``/context`` report), and, for a gateway without a session store, the
memory-flush fields the store's row would otherwise hold.
"""

from __future__ import annotations

import dataclasses

from core.compaction import FlushState
from core.context import SystemPrompt

__all__ = ["SessionState", "SessionStates", "TouchClock"]


@dataclasses.dataclass(slots=True)
class TouchClock:
    """The prune TTL clock of one session for the model it last ran on."""

    ref: str
    """The ``provider/model`` the clock belongs to: a model change re-reads the marker."""
    touched_ms: int | None
    """In-memory ``lastCacheTouchAt`` (epoch ms); None before the first cache touch."""
    sticky: dict[str, str] = dataclasses.field(default_factory=dict)
    """``toolCallId`` → ``soft`` | ``hard``: prune decisions replayed on every later call."""


@dataclasses.dataclass(slots=True)
class SessionState:
    """One session's in-memory state (see the module docstring for why each field exists)."""

    clock: TouchClock | None = None
    prompt: SystemPrompt | None = None
    flush: FlushState | None = None
    """The last memory-flush state, kept only for gateways without a session store."""


class SessionStates:
    """Per session id state, created on first use."""

    def __init__(self) -> None:
        self._by_id: dict[str, SessionState] = {}

    def __getitem__(self, session_id: str) -> SessionState:
        state = self._by_id.get(session_id)
        if state is None:
            state = self._by_id[session_id] = SessionState()
        return state

    def get(self, session_id: str) -> SessionState | None:
        """The state if the session has any (no creation: for read-only views)."""
        return self._by_id.get(session_id)
