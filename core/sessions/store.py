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

import contextlib
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from core.sessions.cache import SessionManagerCache, SessionStoreCache
from core.sessions.events import SessionIndexRebuilt
from core.sessions.index import (
    IndexDamaged,
    SessionEntry,
    decode_store,
    dumps_store,
    parse_store,
    resolve_session_file,
    salvage_rows,
    stored_session_file,
    valid_row,
    write_store_text,
)
from core.sessions.locks import holder_pid, lock_file_is_stale, store_lock, turn_lock, turn_lock_path
from core.sessions.messages import now_ms
from core.sessions.model import Entry, Session
from core.sessions.repair import RepairReport, quarantine, rebuild_rows, usage_fields
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

log = logging.getLogger("clawtop.sessions")

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
        self.state_dir = Path(os.path.normpath(Path(state_dir).absolute()))
        self.dir = self.state_dir / "agents" / agent_id / "sessions"
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
        try:
            return self.store_cache.read(str(self.index_path), _load_text)
        except IndexDamaged:
            # Rebuilt under the lock (another process may have repaired it meanwhile).
            with store_lock(self.index_path):
                return self._locked_rows()

    def entries(self) -> dict[str, SessionEntry]:
        """sessionKey → row (a private copy); rows without a session id are left out."""
        return {k: SessionEntry.from_json(k, v) for k, v in self._read_index().items() if valid_row(v)}

    def list(self) -> list[SessionEntry]:
        """All rows, most recently updated first."""
        def updated(entry: SessionEntry) -> float:
            value: object = entry.updated_at  # whatever the file held: a bad value sorts last
            return value if isinstance(value, int | float) else 0

        return sorted(self.entries().values(), key=updated, reverse=True)

    def find(self, session_id: str) -> SessionEntry | None:
        for entry in self.entries().values():
            if entry.session_id.lower() == session_id.lower():
                return entry
        return None

    def _locked_rows(self) -> dict[str, Any]:
        """The index as it is on disk (call with the store lock held). A damaged file is moved
        aside and the index rebuilt from the transcripts, salvaging the rows it still holds."""
        path = str(self.index_path)
        try:
            text, _, _ = _load_text(path)
            return parse_store(text)
        except IndexDamaged as damage:
            reason = damage.reason
        raw = self.index_path.read_bytes()
        salvaged = salvage_rows(raw.decode(errors="replace"))
        data, fixes = rebuild_rows(salvaged, state_dir=self.state_dir, sessions_dir=self.dir,
                                   agent_id=self.agent_id, claim_default=True, publish=self._publish)
        kept = quarantine(self.index_path)
        self._write_index(data)
        log.warning("%s was damaged (%s): rebuilt from the transcripts (%d rows, %d salvaged); "
                    "the damaged file is kept as %s", path, reason, len(data), len(salvaged), kept)
        if self._publish is not None:
            self._publish(SessionIndexRebuilt(path=path, reason=reason, kept_as=str(kept), rows=len(data),
                                              fixes=len(fixes)))
        return data

    def _write_index(self, data: dict[str, Any]) -> None:
        path = str(self.index_path)
        new_text = dumps_store(data)
        if self.store_cache.unchanged(path, new_text):
            return
        mtime_ns, size = write_store_text(self.index_path, new_text)
        self.store_cache.put(path, new_text, mtime_ns, size)

    def _mutate_index(self, session_id: str, key: str | None, fields: dict[str, Any]) -> None:
        """Update (or add under ``key``) the row of ``session_id``, re-reading under the lock."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with store_lock(self.index_path):
            data = self._locked_rows()
            row_key = next((k for k, v in data.items() if valid_row(v) and v["sessionId"] == session_id), None)
            if row_key is None:
                if key is None:
                    raise SessionNotFound(session_id)
                row_key = key
            entry = SessionEntry.from_json(row_key, data.get(row_key) or {})
            entry.session_id = session_id
            entry.update(**fields)
            if "updated_at" not in fields:
                entry.updated_at = now_ms()
            if entry.session_file and Path(entry.session_file).is_absolute():
                # An older absolute path is rewritten relative, so the state dir stays movable.
                entry.session_file = stored_session_file(self._resolve(entry.session_file), self.state_dir)
            data[row_key] = entry.to_json()
            self._write_index(data)

    def repair(self) -> RepairReport:
        """``clawtop sessions repair``: take over a dead holder's lock, rebuild a damaged index,
        make the index agree with the transcripts on disk, and say what changed."""
        report = RepairReport(index=str(self.index_path))
        lock_path = self.index_path.with_name(self.index_path.name + ".lock")
        try:
            if lock_file_is_stale(lock_path, lock_path.stat()):
                report.stale_lock_pid = holder_pid(lock_path) or 0
        except FileNotFoundError:
            pass
        if not self.dir.is_dir():
            return report
        with store_lock(self.index_path):
            try:
                text, _, _ = _load_text(str(self.index_path))
                data = parse_store(text)
            except IndexDamaged as damage:
                report.damaged = damage.reason
                data = salvage_rows(self.index_path.read_bytes().decode(errors="replace"))
            rows, report.fixes = rebuild_rows(data, state_dir=self.state_dir, sessions_dir=self.dir,
                                              agent_id=self.agent_id, claim_default=report.damaged is not None,
                                              publish=self._publish)
            report.rows = len(rows)
            if report.damaged is not None:
                report.kept_as = str(quarantine(self.index_path))
            if report.damaged is not None or rows != data or not self.index_path.exists():
                self._write_index(rows)
                report.written = True
        if report.written and self._publish is not None:
            self._publish(SessionIndexRebuilt(path=str(self.index_path), reason=report.damaged or "repair",
                                              kept_as=report.kept_as or "", rows=report.rows,
                                              fixes=len(report.fixes)))
        return report

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
            return self._resolve(row.session_file)
        return self.dir / f"{session_id}.jsonl"

    def _resolve(self, session_file: str) -> Path:
        return resolve_session_file(session_file, self.state_dir, self.dir)

    def create(self, session_key: str | None = None, *, cwd: str = "") -> Session:
        """A new session: header written durably, row added, session cached."""
        session = Session.new(str(uuid.uuid4()), cwd=cwd or os.getcwd())
        self._install(session, session_key or f"agent:{self.agent_id}:{session.id}")
        return session

    def open_or_create(self, key: str, *, cwd: str = "") -> tuple[str, bool]:
        """The session id stored under ``key`` (or ``key`` itself when it is an existing session
        id), else a new session stored under ``key``; returns ``(session id, created)``.

        Looked up and created under the index lock, so two processes starting the first turn of a
        key at once get one session: the second one finds the first one's row."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with store_lock(self.index_path):
            data = self._locked_rows()
            row = data.get(key)
            if not valid_row(row):
                row = next((v for v in data.values() if valid_row(v) and v["sessionId"].lower() == key.lower()),
                           None)
            if row is not None:
                sid = row["sessionId"]
                file = row.get("sessionFile")
                path = self._resolve(file) if isinstance(file, str) and file else self.dir / f"{sid}.jsonl"
                if SESSION_ID_RE.match(sid) and path.exists():
                    return sid, False
                log.warning("session %s of key %s has no transcript; starting a new one", sid, key)
            session = Session.new(str(uuid.uuid4()), cwd=cwd or os.getcwd())
            self._write_new(session)
            data[key] = self._new_row(session, key, {}).to_json()
            self._write_index(data)
            return session.id, True

    def turn_lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by an agent turn on ``key`` from its first read to its last append, so turns of
        one session serialise across processes too (docs/design/sessions.md#locking)."""
        return turn_lock(turn_lock_path(self.dir, key))

    def _write_new(self, session: Session) -> None:
        path = self.dir / f"{session.id}.jsonl"
        write_transcript(path, session, fsync=self.fsync)
        st = path.stat()
        session.path, session.size, session.mtime_ns = str(path), st.st_size, st.st_mtime_ns
        self.manager_cache.put(str(path), session, st.st_mtime_ns, st.st_size)

    def _new_row(self, session: Session, key: str, fields: dict[str, Any]) -> SessionEntry:
        now = now_ms()
        entry = SessionEntry(session_id=session.id, key=key)
        entry.update(session_file=stored_session_file(Path(session.path or ""), self.state_dir),
                     updated_at=now, session_started_at=now, **fields)
        return entry

    def _install(self, session: Session, key: str, **fields: Any) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_new(session)
        self._mutate_index(session.id, key, self._new_row(session, key, fields).to_json())

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
        self._install(session, f"agent:{self.agent_id}:{sid}", **usage_fields(session))
        return sid

    def close(self) -> None:
        with self._writers_lock:
            for writer in self._writers.values():
                writer.close()
            self._writers.clear()


def _load_text(path: str) -> tuple[str, int, int]:
    """``(text, mtime_ns, size)`` of the store; a missing file reads as empty; not UTF-8 raises
    :class:`IndexDamaged`."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
    except FileNotFoundError:
        return "", 0, -1
    return decode_store(data), st.st_mtime_ns, len(data)
