"""Which sandboxes to remove (docs/design/sandbox.md#pruning-keys, docs/design/sandbox.md#registry-and-pruning) and the
small last-used registry it reads.

Labels are immutable after create, so "last used" lives in a JSON file under the state dir
(``sandbox/containers.json``, written atomically). Removal never deletes the host workspace
directory (the user's files); a container used within the last 5 minutes is never pruned for
age, because pruning an in-use runtime kills a running tool (OpenClaw #131935).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

__all__ = ["IN_USE_GRACE_S", "Registry", "prune_reason"]

IN_USE_GRACE_S = 300.0
"""A container used this recently counts as in use: kept on drift and by age pruning."""


class Registry:
    """``{name: {scopeKey, createdAtMs, lastUsedAtMs}}`` persisted to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, dict[str, object]] = json.loads(path.read_text()).get("entries", {})
        except (OSError, ValueError, AttributeError):
            self._entries = {}

    def last_used(self, name: str) -> float | None:
        """Wall seconds of the last use, or None when unknown."""
        value = self._entries.get(name, {}).get("lastUsedAtMs")
        return float(value) / 1000 if isinstance(value, (int, float)) else None

    def touch(self, name: str, scope_key: str, *, created_ms: int | None = None) -> None:
        with self._lock:
            entry = self._entries.setdefault(name, {"scopeKey": scope_key})
            if created_ms is not None:
                entry.setdefault("createdAtMs", created_ms)
            entry["lastUsedAtMs"] = int(time.time() * 1000)
            self._save()

    def forget(self, name: str) -> None:
        with self._lock:
            if self._entries.pop(name, None) is not None:
                self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".containers.")
        with os.fdopen(fd, "w") as fh:
            json.dump({"entries": self._entries}, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, self.path)


def prune_reason(
    *, now: float, created: float, last_used: float | None, idle_hours: int, max_age_days: int, force: bool = False
) -> Literal["forced", "idle", "max_age"] | None:
    """``forced``, ``idle``, ``max_age`` or None (keep). Unknown last use counts from creation."""
    if force:
        return "forced"
    used = last_used if last_used is not None else created
    if idle_hours > 0 and now - used > idle_hours * 3600:
        return "idle"
    if max_age_days > 0 and now - created > max_age_days * 86400 and now - used > IN_USE_GRACE_S:
        return "max_age"
    return None
