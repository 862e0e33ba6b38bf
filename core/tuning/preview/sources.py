"""What the previews read: the focused session, the stored events and a clock.

The gateway hands these over (its session store, its store's query, the wall clock); the CLI
and tests build them from a state directory. Nothing here holds the gateway itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.config.loader import LoadedConfig
from core.sessions.index import SessionEntry
from core.sessions.model import Session
from core.sessions.store import SessionNotFound, SessionStore
from core.telemetry.database import connect_readonly, has_events_table
from core.telemetry.records import StoredEvent, read_events

__all__ = ["FocusedSession", "PreviewSources", "QueryEvents", "load_focused_session", "read_only_store"]


class QueryEvents(Protocol):
    """Stored events of ``kinds`` (the gateway's ``stored_events``)."""

    async def __call__(self, kinds: Sequence[str], *, limit: int,
                      newest_first: bool = True) -> list[StoredEvent]: ...


def _read(db_path: Path, kinds: Sequence[str], limit: int, newest_first: bool) -> list[StoredEvent]:
    try:
        conn = connect_readonly(db_path)
    except (FileNotFoundError, sqlite3.OperationalError):
        return []  # no store yet: nothing recorded
    try:
        return read_events(conn, kinds=kinds, limit=limit, newest_first=newest_first) if has_events_table(conn) else []
    finally:
        conn.close()


def read_only_store(db_path: Path) -> QueryEvents:
    """Stored events read from the store's file without ever writing it (the CLI reads while a
    gateway may be writing), each read in a worker thread."""

    async def query(kinds: Sequence[str], *, limit: int, newest_first: bool = True) -> list[StoredEvent]:
        return await asyncio.to_thread(_read, db_path, kinds, limit, newest_first)

    return query


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviewSources:
    """Where previews read from. ``session`` is a session key or id (None = the most recently
    updated session); ``clock`` is wall-clock seconds; ``replay_limit`` is how many recorded
    retried or failed operations the retry preview replays; ``hint_ms`` the Retry-After hint
    its schedule is shown with."""

    sessions: SessionStore | None = None
    session: str | None = None
    query_events: QueryEvents | None = None
    clock: Callable[[], float] = time.time
    replay_limit: int = 5
    hint_ms: int = 1000

    @classmethod
    def for_state_dir(cls, state_dir: str | Path, *, session: str | None = None,
                      query_events: QueryEvents | None = None, clock: Callable[[], float] = time.time,
                      agent_id: str = "main") -> PreviewSources:
        """Sources reading the sessions of ``agent_id`` under ``state_dir``."""
        return cls(sessions=SessionStore(state_dir, agent_id), session=session, query_events=query_events,
                   clock=clock)

    @classmethod
    def for_loaded(cls, loaded: LoadedConfig, *, session: str | None = None) -> PreviewSources:
        """Sources for a process outside the gateway (``clawtop tune set --what-if``): the config's
        state directory and its event store's file, read only."""
        return cls.for_state_dir(loaded.state_dir, session=session, query_events=read_only_store(loaded.db_path))

    def now_ms(self) -> int:
        return int(self.clock() * 1000)


@dataclass(frozen=True, slots=True)
class FocusedSession:
    """The session a preview runs on, with its index row when it has one."""

    session: Session
    row: SessionEntry | None
    key: str

    @property
    def id(self) -> str:
        return self.session.id


def load_focused_session(sources: PreviewSources) -> FocusedSession | None:
    """The session named by key or id, else the most recently updated one; None when there is
    none. Blocking file reads: call it off the event loop."""
    store = sources.sessions
    if store is None:
        return None
    entries = store.entries() if store.index_path.exists() else {}
    row: SessionEntry | None
    if sources.session is None:
        rows = sorted(entries.values(), key=lambda e: e.updated_at or 0, reverse=True)
        row = rows[0] if rows else None
    else:
        row = entries.get(sources.session) or next(
            (e for e in entries.values() if e.session_id.lower() == sources.session.lower()), None)
    session_id = row.session_id if row is not None else sources.session
    if session_id is None:
        return None
    try:
        session = store.open(session_id)
    except (SessionNotFound, ValueError, FileNotFoundError):
        return None
    return FocusedSession(session, row, row.key if row is not None else session.id)
