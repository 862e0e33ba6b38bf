"""The agent's access to session transcripts: open or create a session by key, start a new one,
append durably, and the workspace the sessions run in.

Why a gateway may have no session store: tests and ephemeral gateways run turns in memory; the
same calls then keep the session in :attr:`Transcripts.cached` only, so the loop does not care.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from core.config.loader import LoadedConfig
from core.sessions.messages import AgentMessage
from core.sessions.model import Entry, MessageEntry, Session
from core.sessions.store import SessionNotFound, SessionStore

__all__ = ["Transcripts", "workspace_dir"]

log = logging.getLogger("clawtop.agent")


def workspace_dir(loaded: LoadedConfig, env: Mapping[str, str] | None) -> Path:
    """``agents.defaults.workspace`` (``~`` expanded against ``env``'s ``HOME`` first, so a
    gateway run with an explicit environment does not reach the real home), else
    ``<state dir>/workspace``."""
    configured = loaded.config.agents.defaults.workspace
    if configured:
        home = (env or {}).get("HOME")
        text = str(configured)
        if home and (text == "~" or text.startswith("~/")):
            text = home + text[1:]
        return Path(text).expanduser().absolute()
    return Path(loaded.state_dir) / "workspace"


class Transcripts:
    """Sessions by key for the agent; remembers the session last opened under each key."""

    def __init__(self, store: SessionStore | None, workspace: Callable[[], Path]) -> None:
        self.store = store
        self._workspace = workspace
        self._open: dict[str, Session] = {}

    def workspace_dir(self) -> Path:
        return self._workspace()

    def cached(self, key: str) -> Session | None:
        """The session last opened under ``key`` by a turn (no I/O: for views)."""
        return self._open.get(key)

    async def open(self, key: str) -> Session:
        store = self.store
        if store is None:
            session = self._open.get(key) or Session.new()
        else:
            session = await self._open_or_create(store, key)
        self._open[key] = session
        return session

    async def reopen(self, key: str, session: Session) -> Session:
        """The stored state of ``session`` (the cached object when there is no store)."""
        fresh = await self.store.open_async(session.id) if self.store is not None else session
        self._open[key] = fresh
        return fresh

    async def _open_or_create(self, store: SessionStore, key: str) -> Session:
        """``key`` names a row of ``sessions.json`` (e.g. ``main``) or an existing session id;
        anything else becomes a new session stored under that key."""
        rows = await asyncio.to_thread(store.entries)
        row = rows.get(key)
        session_id = row.session_id if row is not None else None
        if session_id is None:
            found = next((r for r in rows.values() if r.session_id.lower() == key.lower()), None)
            session_id = found.session_id if found is not None else None
        if session_id is not None:
            try:
                return await store.open_async(session_id)
            except SessionNotFound:
                log.warning("session %s of key %s has no transcript; starting a new one", session_id, key)
        return await asyncio.to_thread(lambda: store.create(key, cwd=str(self.workspace_dir())))

    async def new(self, key: str) -> Session:
        """``/new``: a fresh session under ``key`` (the old transcript stays on disk)."""
        store = self.store
        if store is None:
            session = Session.new()
        else:
            session = await asyncio.to_thread(lambda: store.create(key, cwd=str(self.workspace_dir())))
        self._open[key] = session
        return session

    async def append(self, session: Session, messages: Sequence[AgentMessage]) -> None:
        await self.append_entries(session, [MessageEntry(m) for m in messages])

    async def append_entries(self, session: Session, entries: Sequence[Entry]) -> None:
        """Durably append (write + fsync per the store's policy) before the loop goes on."""
        store = self.store
        if store is None:
            for entry in entries:
                session.add(entry)
            return
        for entry in entries:
            await store.append_async(session.id, entry)
