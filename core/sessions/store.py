"""``SessionStore``: one agent's session directory (docs/design/sessions.md#directory-layout).

``<state>/agents/<agentId>/sessions/`` holds ``sessions.json`` (see :mod:`core.sessions.index`)
and ``<sessionId>.jsonl`` transcripts. Transcripts are read through the session-manager cache
and the index through the session-store cache (:mod:`core.sessions.cache`). Appends go through
one :class:`~core.sessions.transcript.TranscriptWriter` per file and update the cached session
in place, so an agent turn never re-parses its own transcript.

Sync methods are for the CLI and worker threads; the ``*_async`` ones keep file I/O off the
event loop (the parse and the write+fsync run in a thread, events are published on the loop).
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from core.sessions.cache import SessionManagerCache, SessionStoreCache
from core.sessions.index import SessionEntry, dumps_store, store_lock, write_store_text
from core.sessions.messages import now_ms
from core.sessions.model import CompactionEntry, Entry, MessageEntry, Session
from core.sessions.transcript import (
    FsyncPolicy,
    Publish,
    TranscriptWriter,
    dump_line,
    read_transcript,
    read_transcript_async,
    write_transcript,
)

__all__ = ["SESSION_ID_RE", "SessionNotFound", "SessionStore"]

SESSION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$", re.IGNORECASE)


class SessionNotFound(LookupError):
    """No transcript for that session id."""


class SessionStore:
    """Sessions of one agent. ``publish`` receives cache and torn-line events."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        agent_id: str = "main",
        *,
        publish: Publish | None = None,
        cache_ttl_ms: int | None = None,
        store_cache_ttl_ms: int | None = None,
        fsync: FsyncPolicy = "always",
    ) -> None:
        self.agent_id = agent_id
        self.dir = Path(state_dir) / "agents" / agent_id / "sessions"
        self.index_path = self.dir / "sessions.json"
        self.fsync: FsyncPolicy = fsync
        self._publish = publish
        self.manager_cache = SessionManagerCache(cache_ttl_ms, publish=publish)
        self.store_cache = SessionStoreCache(store_cache_ttl_ms, publish=publish)
        self._writers: dict[str, TranscriptWriter] = {}
        self._writers_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any, state_dir: str | os.PathLike[str], agent_id: str = "main",
                    *, publish: Publish | None = None) -> SessionStore:
        """Built from a validated ``ClawtopConfig`` (its ``session`` section)."""
        section = config.session
        return cls(state_dir, agent_id, publish=publish,
                   cache_ttl_ms=section.manager_cache_ttl_ms,
                   store_cache_ttl_ms=section.store_cache_ttl_ms, fsync=section.fsync)

    # -- index ------------------------------------------------------------------------------
    def _read_index(self) -> dict[str, Any]:
        return self.store_cache.read(str(self.index_path), _load_text)

    def entries(self) -> dict[str, SessionEntry]:
        """sessionKey → row (a private copy)."""
        return {k: SessionEntry.from_json(k, v) for k, v in self._read_index().items()
                if isinstance(v, dict)}

    def list(self) -> list[SessionEntry]:
        """All rows, most recently updated first."""
        return sorted(self.entries().values(), key=lambda e: e.updated_at or 0, reverse=True)

    def find(self, session_id: str) -> SessionEntry | None:
        for entry in self.entries().values():
            if entry.session_id.lower() == session_id.lower():
                return entry
        return None

    def _mutate_index(self, session_id: str, key: str | None, fields: dict[str, Any]) -> None:
        """Update (or add under ``key``) the row of ``session_id``, re-reading under the lock."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = str(self.index_path)
        with store_lock(self.index_path):
            text, _, _ = _load_text(path)
            data = json.loads(text) if text.strip() else {}
            row_key = next((k for k, v in data.items() if isinstance(v, dict)
                            and v.get("sessionId") == session_id), None)
            if row_key is None:
                if key is None:
                    raise SessionNotFound(session_id)
                row_key = key
            entry = SessionEntry.from_json(row_key, data.get(row_key) or {})
            entry.session_id = session_id
            entry.update(**fields)
            if "updated_at" not in fields:
                entry.updated_at = now_ms()
            data[row_key] = entry.to_json()
            new_text = dumps_store(data)
            if self.store_cache.unchanged(path, new_text):
                return
            mtime_ns, size = write_store_text(self.index_path, new_text)
            self.store_cache.put(path, new_text, mtime_ns, size)

    def update_entry(self, session_id: str, **fields: Any) -> None:
        """Set row fields (snake_case, e.g. ``total_tokens=…``); ``updatedAt`` becomes now."""
        self._mutate_index(session_id, None, fields)

    # -- transcripts ------------------------------------------------------------------------
    def transcript_path(self, session_id: str) -> Path:
        """The row's ``sessionFile`` if any (topic variants), else ``<id>.jsonl``."""
        if not SESSION_ID_RE.match(session_id):
            raise ValueError(f"invalid session id {session_id!r}")
        row = self.find(session_id) if self.index_path.exists() else None
        if row is not None and row.session_file:
            return Path(row.session_file)
        return self.dir / f"{session_id}.jsonl"

    def create(self, session_key: str | None = None, *, cwd: str = "") -> Session:
        """A new session: header written durably, row added, session cached."""
        session = Session.new(str(uuid.uuid4()), cwd=cwd or os.getcwd())
        self._install(session, session_key or f"agent:{self.agent_id}:{session.id}")
        return session

    def _install(self, session: Session, key: str, **fields: Any) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{session.id}.jsonl"
        write_transcript(path, session, fsync=self.fsync)
        st = path.stat()
        session.path, session.size, session.mtime_ns = str(path), st.st_size, st.st_mtime_ns
        self.manager_cache.put(str(path), session, st.st_mtime_ns, st.st_size)
        now = now_ms()
        self._mutate_index(session.id, key, {"session_file": str(path), "updated_at": now,
                                             "session_started_at": now, **fields})

    def open(self, session_id: str) -> Session:
        """The session (cached while its file is unchanged; a shared object — read only)."""
        path = self._existing(session_id)
        return self.manager_cache.load(path, lambda p: read_transcript(p, publish=self._publish))

    async def open_async(self, session_id: str) -> Session:
        path = self._existing(session_id)
        session = self.manager_cache.lookup(path)
        if session is None:
            self.manager_cache.prewarm(path)
            session = await read_transcript_async(path, publish=self._publish)
            self.manager_cache.remember(session)
        return session

    def _existing(self, session_id: str) -> str:
        path = self.transcript_path(session_id)
        if not path.exists():
            raise SessionNotFound(session_id)
        return str(path)

    def _writer(self, path: str) -> TranscriptWriter:
        with self._writers_lock:
            writer = self._writers.get(path)
            if writer is None:
                writer = self._writers[path] = TranscriptWriter(path, fsync=self.fsync)
            return writer

    def append(self, session_id: str, entry: Entry) -> str:
        """Durably append ``entry`` (id and parentId filled from the session's leaf); returns
        its id once acknowledged per the fsync policy."""
        session = self.open(session_id)
        before = session.size
        session.add(entry)
        try:
            self._writer(session.path or "").append(entry)
        except BaseException:
            self.manager_cache.invalidate(session.path or "", "write-failed")
            raise
        self._after_append(session, before, entry)
        return entry.id or ""

    async def append_async(self, session_id: str, entry: Entry) -> str:
        session = await self.open_async(session_id)
        before = session.size
        session.add(entry)
        try:
            await self._writer(session.path or "").append_async(entry)
        except BaseException:
            self.manager_cache.invalidate(session.path or "", "write-failed")
            raise
        self._after_append(session, before, entry)
        return entry.id or ""

    def _after_append(self, session: Session, before: int, entry: Entry) -> None:
        """Keep the cached session valid after our own write — unless someone else wrote to
        the file meanwhile (size differs from ours), then the next open re-reads it."""
        path = session.path or ""
        st = os.stat(path)
        expected = before + len(dump_line(entry.raw))
        if st.st_size == expected:
            session.size, session.mtime_ns = st.st_size, st.st_mtime_ns
            self.manager_cache.refresh(path, st.st_mtime_ns, st.st_size)
        else:
            self.manager_cache.invalidate(path, "changed")

    def import_file(self, path: str | os.PathLike[str]) -> str:
        """Copy an OpenClaw transcript in (bad lines skipped and reported); keeps its id unless
        taken or invalid. Returns the session id."""
        session = read_transcript(path, publish=self._publish)
        sid = session.header.id
        if not SESSION_ID_RE.match(sid or "") or (self.dir / f"{sid}.jsonl").exists():
            sid = str(uuid.uuid4())
            session.header.raw["id"] = sid
        self._install(session, f"agent:{self.agent_id}:{sid}", **_usage_fields(session))
        return sid

    def close(self) -> None:
        with self._writers_lock:
            for writer in self._writers.values():
                writer.close()
            self._writers.clear()


def _usage_fields(session: Session) -> dict[str, Any]:
    """Row counters derived from a transcript (last assistant usage, compaction count)."""
    fields: dict[str, Any] = {
        "compaction_count": sum(isinstance(e, CompactionEntry) for e in session.entries)}
    for entry in reversed(session.entries):
        if isinstance(entry, MessageEntry) and entry.role == "assistant":
            usage = entry.message.usage or {}
            prompt = sum(int(usage.get(k) or 0) for k in ("input", "cacheRead", "cacheWrite"))
            fields.update(input_tokens=usage.get("input"), output_tokens=usage.get("output"),
                          cache_read=usage.get("cacheRead"), cache_write=usage.get("cacheWrite"),
                          total_tokens=prompt, total_tokens_fresh=True)
            break
    return fields


def _load_text(path: str) -> tuple[str, int, int]:
    """``(text, mtime_ns, size)`` of the store; a missing file reads as empty."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
    except FileNotFoundError:
        return "", 0, -1
    return data.decode(), st.st_mtime_ns, len(data)
