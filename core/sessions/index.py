"""``sessions.json``: the per-agent map sessionKey → :class:`SessionEntry` (docs/design/sessions.md#session-row-fields,
docs/design/sessions.md#session-store-cache).

Writes follow OpenClaw's discipline so clawtop and a running OpenClaw can share a directory: an
in-process lock per path plus the lock file ``sessions.json.lock`` (created exclusively; waited
for up to 10 s; taken over when older than 30 s, i.e. left by a crashed writer), the store
re-read inside the lock (so a concurrent writer's rows are never overwritten), then a temp file,
fsync and atomic rename — a reader sees the old or the new file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "LOCK_STALE_S",
    "LOCK_TIMEOUT_S",
    "SessionEntry",
    "dumps_store",
    "store_lock",
    "write_store_text",
]

LOCK_TIMEOUT_S = 10.0
LOCK_STALE_S = 30.0

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


_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def store_lock(store_path: Path) -> Iterator[None]:
    """The in-process lock for ``store_path`` plus its cross-process lock file."""
    with _PATH_LOCKS_GUARD:
        lock = _PATH_LOCKS.setdefault(str(store_path), threading.Lock())
    with lock:
        lock_path = store_path.with_name(store_path.name + ".lock")
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                break
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if time.time() - lock_path.stat().st_mtime > LOCK_STALE_S:
                        lock_path.unlink()  # left behind by a crashed writer
                        continue
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{lock_path} held for more than {LOCK_TIMEOUT_S:.0f} s") from None
                time.sleep(0.02)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            yield
        finally:
            with contextlib.suppress(OSError):
                lock_path.unlink()


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
