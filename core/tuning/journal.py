"""The tuning journal: one JSON file per tuning in ``<state dir>/tuning/``, holding what changed and the
exact text of every file it wrote, before and after, so an undo can put the bytes back
(docs/design/tuning.md#the-journal-and-the-event).

Config files are UTF-8 (the loader refuses anything else), so their text is stored as JSON strings, which
round-trip every character (a BOM and ``\\r\\n`` included): byte-for-byte after encoding.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "JOURNAL_DIR",
    "FileSnapshot",
    "Origin",
    "TunedChange",
    "Tuning",
    "TuningError",
    "files_unchanged",
    "journal_dir",
    "new_tuning_id",
    "read_journal",
    "version_in_force",
    "write_entry",
]

JOURNAL_DIR = "tuning"
Origin = Literal["dashboard", "cli", "api"]


class TuningError(Exception):
    """A tuning was refused and nothing was written. ``errors`` maps key paths to the schema's message
    (invalid values); ``conflict`` is True when a file changed on disk since it was read."""

    def __init__(self, message: str, *, errors: dict[str, str] | None = None, conflict: bool = False) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})
        self.conflict = conflict


@dataclasses.dataclass(frozen=True, slots=True)
class TunedChange:
    """One key: its value before and after (JSON, secrets redacted; None = unset), its reload kind, and
    whether the key was written in a file before (else its default applied, and an undo removes it)."""

    path: str
    old: Any
    new: Any
    reload: str
    was_set: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class FileSnapshot:
    """A file a tuning wrote: its text before (None = it did not exist) and after (None = removed)."""

    path: str
    before: str | None
    after: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Tuning:
    """One applied tuning (or undo, ``undo_of`` set) as the journal and the history show it."""

    id: str
    wall: float
    origin: Origin
    changes: tuple[TunedChange, ...]
    files: tuple[FileSnapshot, ...]
    undo_of: str | None = None
    note: str = ""
    created: str | None = None
    """The config file this tuning created (there was none before), else None."""

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> dict[str, Any]:
        """The tuning without file texts (what ``tune history --json`` prints)."""
        data = self.to_json()
        data["files"] = [f.path for f in self.files]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tuning:
        return cls(
            id=str(data["id"]), wall=float(data["wall"]), origin=data.get("origin", "api"),
            changes=tuple(TunedChange(**c) for c in data.get("changes", ())),
            files=tuple(FileSnapshot(**f) for f in data.get("files", ())),
            undo_of=data.get("undo_of"), note=str(data.get("note", "")), created=data.get("created"),
        )


def journal_dir(state_dir: Path) -> Path:
    return state_dir / JOURNAL_DIR


def new_tuning_id(wall: float) -> str:
    """Sortable by time, unique enough for one user: ``20261205-183501-a1b2``."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(wall)) + "-" + secrets.token_hex(2)


def write_entry(state_dir: Path, tuning: Tuning) -> Path:
    """Store ``tuning`` atomically (temp file + rename), private to the user: it holds config text."""
    folder = journal_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{tuning.id}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{tuning.id}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(tuning.to_json(), handle, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_journal(state_dir: Path) -> list[Tuning]:
    """Every stored tuning, oldest first; an unreadable entry is skipped (it cannot be undone anyway)."""
    out: list[Tuning] = []
    try:
        files = sorted(journal_dir(state_dir).glob("*.json"))
    except OSError:
        return out
    for file in files:
        try:
            out.append(Tuning.from_json(json.loads(file.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    out.sort(key=lambda t: (t.wall, t.id))
    return out


def _text_now(path: str) -> str | None:
    try:
        return Path(path).read_bytes().decode("utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def files_unchanged(tuning: Tuning) -> bool:
    """Every file a tuning wrote still holds exactly what it wrote."""
    return all(_text_now(f.path) == f.after for f in tuning.files)


def version_in_force(state_dir: Path) -> str | None:
    """The settings version: the id of the newest tuning whose files still hold what it wrote; None when
    there is none or the files were edited by hand since (the settings then come from no tuning)."""
    entries = read_journal(state_dir)
    if not entries:
        return None
    newest = entries[-1]
    return newest.id if files_unchanged(newest) else None
