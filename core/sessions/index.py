"""``sessions.json``: the per-agent map sessionKey → :class:`SessionEntry` (docs/design/sessions.md#session-row-fields,
docs/design/sessions.md#session-store-cache).

Writes follow OpenClaw's discipline so clawtop and a running OpenClaw can share a directory: the
lock of :func:`core.sessions.locks.store_lock`, the store re-read inside the lock (so a concurrent
writer's rows are never overwritten), then a temp file, fsync and atomic rename — a reader sees
the old or the new file, never a half-written one.

Reading is strict about the file's shape and forgiving about its rows: a file that is not a JSON
object (garbage, truncated, an array, not UTF-8) raises :class:`IndexDamaged`, which the store
answers by rebuilding the index from the transcripts (docs/design/sessions.md#repair); a row
without a string ``sessionId`` is ignored. ``sessionFile`` is written relative to the state dir,
so the state dir can be moved or copied (docs/design/sessions.md#relative-paths).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "IndexDamaged",
    "SessionEntry",
    "decode_store",
    "dumps_store",
    "parse_store",
    "resolve_session_file",
    "salvage_rows",
    "stored_session_file",
    "valid_row",
    "write_store_text",
]

_JSON_NAMES = {
    "session_id": "sessionId", "updated_at": "updatedAt", "session_file": "sessionFile",
    "input_tokens": "inputTokens", "output_tokens": "outputTokens",
    "total_tokens": "totalTokens", "total_tokens_fresh": "totalTokensFresh",
    "cache_read": "cacheRead", "cache_write": "cacheWrite", "context_tokens": "contextTokens",
    "compaction_count": "compactionCount", "compaction_checkpoints": "compactionCheckpoints",
    "memory_flush_at": "memoryFlushAt",
    "memory_flush_compaction_count": "memoryFlushCompactionCount",
    "memory_flush_context_hash": "memoryFlushContextHash",
    "system_prompt_report": "systemPromptReport", "session_started_at": "sessionStartedAt",
    "last_interaction_at": "lastInteractionAt",
}
_PY_NAMES = {v: k for k, v in _JSON_NAMES.items()}


@dataclasses.dataclass(slots=True)
class SessionEntry:
    """One row of ``sessions.json``. Times are epoch ms (as OpenClaw). Keys clawtop does not
    model (toggles, model/auth overrides, future fields) live in ``extra`` and are written back
    unchanged."""

    session_id: str
    updated_at: int = 0
    session_file: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    """Size of the last prompt."""
    total_tokens_fresh: bool | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    context_tokens: int | None = None
    compaction_count: int | None = None
    compaction_checkpoints: list[Any] | None = None
    memory_flush_at: int | None = None
    memory_flush_compaction_count: int | None = None
    memory_flush_context_hash: str | None = None
    system_prompt_report: Any = None
    session_started_at: int | None = None
    last_interaction_at: int | None = None
    key: str = ""
    """The sessionKey this row is stored under (not a JSON field)."""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, key: str, raw: dict[str, Any]) -> SessionEntry:
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in raw.items():
            py = _PY_NAMES.get(name)
            if py is None:
                extra[name] = value
            else:
                known[py] = value
        known.setdefault("session_id", "")
        return cls(key=key, extra=extra, **known)

    def to_json(self) -> dict[str, Any]:
        """camelCase object; ``None`` fields omitted (OpenClaw leaves unset keys out)."""
        out: dict[str, Any] = {}
        for py, name in _JSON_NAMES.items():
            value = getattr(self, py)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out

    def update(self, **fields: Any) -> None:
        """Set fields by Python name; an unknown name is stored under that name in ``extra``
        only if it is already camelCase-looking, else rejected (catches typos)."""
        for name, value in fields.items():
            if name in _JSON_NAMES:
                setattr(self, name, value)
            elif name in _PY_NAMES:
                setattr(self, _PY_NAMES[name], value)
            elif name.isidentifier() and "_" not in name:
                self.extra[name] = value
            else:
                raise TypeError(f"unknown SessionEntry field {name!r}")


def write_store_text(store_path: Path, text: str) -> tuple[int, int]:
    """Atomically replace the store with ``text``; returns the new ``(mtime_ns, size)``."""
    tmp = store_path.with_name(f".{store_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = text.encode()
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, store_path)
    st = store_path.stat()
    return st.st_mtime_ns, st.st_size


def dumps_store(data: dict[str, Any]) -> str:
    """OpenClaw writes the store pretty-printed with two spaces."""
    return json.dumps(data, ensure_ascii=False, indent=2)


class IndexDamaged(ValueError):
    """``sessions.json`` is not a JSON object; ``reason`` says what it is instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_store(data: bytes) -> str:
    """The file's text; :class:`IndexDamaged` when it is not UTF-8."""
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise IndexDamaged(f"not UTF-8 (byte {exc.start})") from None


def parse_store(text: str) -> dict[str, Any]:
    """The rows of a store's text (empty text: no rows); :class:`IndexDamaged` unless the text is
    one JSON object."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IndexDamaged(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise IndexDamaged(f"top level is a JSON {type(data).__name__}, not an object")
    return data


def valid_row(value: Any) -> bool:
    """A row clawtop can use: an object with a string ``sessionId``."""
    return isinstance(value, dict) and isinstance(value.get("sessionId"), str) and bool(value["sessionId"])


def salvage_rows(text: str) -> dict[str, Any]:
    """The complete ``"key": value`` pairs before the damage of a top-level object (a file cut
    off mid-write keeps every row it finished); nothing for anything that is not an object."""
    body = text.lstrip()
    if not body.startswith("{"):
        return {}
    decoder = json.JSONDecoder()
    out: dict[str, Any] = {}
    pos, end = 1, len(body)

    def skip(i: int, chars: str) -> int:
        while i < end and body[i] in chars:
            i += 1
        return i

    while True:
        pos = skip(pos, " \t\r\n,")
        try:
            key, pos = decoder.raw_decode(body, pos)
        except ValueError:
            return out
        pos = skip(pos, " \t\r\n")
        if not isinstance(key, str) or body[pos:pos + 1] != ":":
            return out
        pos = skip(pos + 1, " \t\r\n")
        try:
            value, pos = decoder.raw_decode(body, pos)
        except ValueError:
            return out
        out[key] = value


def resolve_session_file(value: str, state_dir: Path, sessions_dir: Path) -> Path:
    """Where a row's ``sessionFile`` is now. Relative: under the state dir. Absolute (older
    clawtop, OpenClaw): as written when that is in this sessions dir; otherwise a file of the
    same name in this sessions dir wins — the state dir was moved or copied, and a copy must
    never append to the original's transcript — and the absolute path is used only when no
    such file exists here and it does."""
    path = Path(value)
    if not path.is_absolute():
        return state_dir / path
    if Path(os.path.normpath(path)).parent == sessions_dir:
        return path
    local = sessions_dir / path.name
    if local.exists() or not path.exists():
        return local
    return path


def stored_session_file(path: Path, state_dir: Path) -> str:
    """The ``sessionFile`` to write for ``path``: relative to the state dir when inside it."""
    try:
        return Path(os.path.normpath(path)).relative_to(state_dir).as_posix()
    except ValueError:
        return str(path)
