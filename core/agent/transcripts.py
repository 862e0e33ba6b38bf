"""The agent's access to session transcripts: open or create a session by key, start a new one,
append durably, and the workspace the sessions run in.

Why a gateway may have no session store: tests and ephemeral gateways run turns in memory; the
same calls then keep the session in :attr:`Transcripts.cached` only, so the loop does not care.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    def hold(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The cross-process turn lock of ``key`` (nothing to hold without a store): a turn holds
        it from its first read of the transcript to its last append."""
        if self.store is None:
            return contextlib.nullcontext()
        return self.store.turn_lock(key)

    async def _open_or_create(self, store: SessionStore, key: str) -> Session:
        """``key`` names a row of ``sessions.json`` (e.g. ``main``) or an existing session id;
        anything else becomes a new session stored under that key (race-free across processes:
        looked up and created under the index lock)."""
        cwd = str(self.workspace_dir())
        for _ in range(2):
            session_id, _created = await asyncio.to_thread(lambda: store.open_or_create(key, cwd=cwd))
            try:
                return await store.open_async(session_id)
            except SessionNotFound:  # removed between the lookup and the read: look again
                log.warning("session %s of key %s vanished while opening it; looking again", session_id, key)
        raise SessionNotFound(key)

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
