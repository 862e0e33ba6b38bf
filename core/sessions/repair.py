"""Rebuilding ``sessions.json`` from the transcripts (docs/design/sessions.md#repair).

The transcripts are the source of truth; the index only maps session keys to them and caches
counters. So a damaged index (garbage, truncated, an array, not UTF-8) loses nothing that
matters: its complete rows are salvaged, every transcript without a row gets one, rows whose
transcript is gone are dropped, absolute ``sessionFile`` paths become relative. The store runs
this automatically when it meets a damaged file (keeping the damaged file beside it, renamed);
``clawtop sessions repair`` runs it on demand and prints what it fixed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from core.sessions.index import SessionEntry, resolve_session_file, stored_session_file, valid_row
from core.sessions.model import CompactionEntry, MessageEntry, Session
from core.sessions.transcript import Publish, read_transcript

__all__ = ["DEFAULT_KEY", "Fix", "FixAction", "RepairReport", "quarantine", "rebuild_rows", "usage_fields"]

DEFAULT_KEY = "main"
"""The key every front end uses by default: a rebuilt index that lost it gives it to the most
recently written transcript, so the user's next ``send`` continues their conversation instead of
silently starting a new one."""

FixAction = Literal["added", "dropped", "relinked", "relative", "main"]
_HEADER_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Fix:
    """One change the repair made to the index."""

    action: FixAction
    key: str
    session_id: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "key": self.key, "sessionId": self.session_id, "detail": self.detail}


@dataclasses.dataclass(slots=True)
class RepairReport:
    """What a repair found and did."""

    index: str
    damaged: str | None = None
    """Why the index file could not be read, None when it could."""
    kept_as: str | None = None
    """Where the damaged file was moved (kept for inspection)."""
    stale_lock_pid: int | None = None
    """The dead holder whose ``sessions.json.lock`` was taken over, if any."""
    rows: int = 0
    fixes: list[Fix] = dataclasses.field(default_factory=list)
    written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "damaged": self.damaged, "keptAs": self.kept_as,
                "staleLockPid": self.stale_lock_pid, "rows": self.rows, "written": self.written,
                "fixes": [f.to_json() for f in self.fixes]}


def usage_fields(session: Session) -> dict[str, Any]:
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


def _header_id(path: Path) -> str:
    """The session id in the header line, else the file stem (what reading would synthesise)."""
    try:
        with open(path, "rb") as fh:
            first = fh.read(_HEADER_BYTES).split(b"\n", 1)[0]
        header = json.loads(first)
    except (OSError, ValueError):
        header = None
    if isinstance(header, dict) and header.get("type") == "session" and isinstance(header.get("id"), str):
        return str(header["id"])
    return path.stem.split("-topic-")[0]


def _scan(sessions_dir: Path) -> dict[str, Path]:
    """Session id → transcript; for an id claimed by several files, ``<id>.jsonl`` wins, then
    the most recently written."""
    found: dict[str, Path] = {}
    files = sorted(sessions_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    for path in files:
        sid = _header_id(path)
        if sid and (sid not in found or found[sid].name != f"{sid}.jsonl"):
            found[sid] = path
    return found


def rebuild_rows(data: dict[str, Any], *, state_dir: Path, sessions_dir: Path, agent_id: str,
                 claim_default: bool, publish: Publish | None = None) -> tuple[dict[str, Any], list[Fix]]:
    """The index ``data`` made consistent with the transcripts on disk, and the fixes made.
    ``claim_default``: give :data:`DEFAULT_KEY` to the newest unclaimed transcript when no row
    has it (for an index whose rows were lost)."""
    transcripts = _scan(sessions_dir) if sessions_dir.is_dir() else {}
    out: dict[str, Any] = {}
    fixes: list[Fix] = []
    claimed: set[str] = set()
    for key, row in data.items():
        if not valid_row(row):
            fixes.append(Fix("dropped", key, "", "row has no session id"))
            continue
        sid = row["sessionId"]
        value = row.get("sessionFile")
        path = (resolve_session_file(value, state_dir, sessions_dir) if isinstance(value, str) and value
                else sessions_dir / f"{sid}.jsonl")
        if not path.exists():
            if sid not in transcripts:
                fixes.append(Fix("dropped", key, sid, f"transcript {path} is missing"))
                continue
            path = transcripts[sid]
            fixes.append(Fix("relinked", key, sid, f"transcript found at {path}"))
        claimed.add(sid)
        if value is None and path == sessions_dir / f"{sid}.jsonl":
            out[key] = row  # OpenClaw may leave sessionFile out for the default name
            continue
        stored = stored_session_file(path, state_dir)
        if value != stored and isinstance(value, str) and Path(value).is_absolute() and not Path(stored).is_absolute():
            fixes.append(Fix("relative", key, sid, f"sessionFile {value} → {stored}"))
        out[key] = {**row, "sessionFile": stored}
    orphans = sorted((p.stat().st_mtime_ns, sid, p) for sid, p in transcripts.items() if sid not in claimed)
    default_sid = orphans[-1][1] if claim_default and orphans and DEFAULT_KEY not in out else None
    for mtime_ns, sid, path in orphans:
        try:
            session = read_transcript(path, publish=publish)
        except OSError as exc:
            fixes.append(Fix("dropped", "", sid, f"transcript {path} unreadable ({exc})"))
            continue
        key = DEFAULT_KEY if sid == default_sid else f"agent:{agent_id}:{sid}"
        entry = SessionEntry(session_id=sid, key=key, updated_at=mtime_ns // 1_000_000,
                             session_file=stored_session_file(path, state_dir))
        entry.update(**usage_fields(session))
        out[key] = entry.to_json()
        if sid == default_sid:
            fixes.append(Fix("main", key, sid, f"the most recently written transcript {path.name} "
                                               f"takes the lost default key {DEFAULT_KEY!r}"))
        else:
            fixes.append(Fix("added", key, sid, f"transcript {path.name} had no row"))
    return out, fixes


def quarantine(path: Path) -> Path:
    """Move a damaged file aside (``<name>.damaged-<epoch ms>``), kept for inspection."""
    target = path.with_name(f"{path.name}.damaged-{int(time.time() * 1000)}")
    os.replace(path, target)
    return target
