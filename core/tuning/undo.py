"""Undo a tuning: byte-for-byte when its files still hold what it wrote, else value by value
(docs/design/tuning.md#undo).

An exact undo writes back the journalled "before" text of each file (a file the tuning created is removed
again). When a file was edited since, putting old bytes back would lose that edit, so only the tuned keys
are set back to their old values (or removed, where the default applied) through the writer, and the
result says so. Either way the undo is a tuning of its own: journalled, published, ``undo_of`` set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from core.config.errors import ConfigError
from core.config.loader import LoadedConfig, load_config
from core.config.safe_write import ConfigNotWritableError
from core.tuning.apply import Publish, apply_tuning, publish_tuning, restore_files
from core.tuning.journal import (
    FileSnapshot,
    Origin,
    TunedChange,
    Tuning,
    TuningError,
    files_unchanged,
    new_tuning_id,
    read_journal,
    write_entry,
)
from core.tuning.propose import Change

__all__ = ["tuning_history", "undo_tuning"]


def tuning_history(state_dir: Path) -> list[Tuning]:
    """Every tuning and undo, newest first."""
    return list(reversed(read_journal(state_dir)))


def _target(entries: list[Tuning], tuning_id: str | None) -> Tuning:
    undone = {t.undo_of for t in entries if t.undo_of}
    if tuning_id is None:
        for entry in reversed(entries):
            if entry.undo_of is None and entry.id not in undone:
                return entry
        raise TuningError("there is no tuning to undo")
    matches = [t for t in entries if t.id == tuning_id or t.id.startswith(tuning_id)]
    if len(matches) != 1:
        raise TuningError(f"no tuning {tuning_id!r} in the journal" if not matches
                          else f"{tuning_id!r} matches {len(matches)} tunings; give more of the id")
    if matches[0].id in undone:
        raise TuningError(f"tuning {matches[0].id} was already undone")
    return matches[0]


def _reverse(changes: tuple[TunedChange, ...]) -> tuple[TunedChange, ...]:
    return tuple(TunedChange(c.path, c.new, c.old, c.reload, was_set=True) for c in changes)


def undo_tuning(loaded: LoadedConfig, tuning_id: str | None = None, *, origin: Origin,
                publish: Publish | None, state_dir: Path | None = None,
                env: Mapping[str, str] | None = None) -> Tuning:
    """Revert the last tuning not yet undone (or ``tuning_id``, a unique prefix is enough)."""
    state = state_dir or loaded.state_dir
    target = _target(read_journal(state), tuning_id)
    if files_unchanged(target):
        try:
            restore_files(target.files)
        except ConfigNotWritableError as exc:
            raise TuningError(exc.issues[0].format() if exc.issues else str(exc)) from None
        wall = time.time()
        undo = Tuning(new_tuning_id(wall), wall, origin, _reverse(target.changes),
                      tuple(FileSnapshot(f.path, f.after, f.before) for f in target.files), target.id,
                      f"undid {target.id}: the files are back byte for byte")
        write_entry(state, undo)
        publish_tuning(undo, publish)
        return undo
    base_env: Mapping[str, str] = os.environ if env is None else env
    try:
        current = load_config(loaded.path, env=base_env) if loaded.path.exists() else loaded
    except ConfigError as exc:
        raise TuningError(f"the config does not load now, so {target.id} cannot be undone: {exc}") from None
    changes = [Change(c.path, c.old if c.was_set else None) for c in target.changes]
    note = (f"undid {target.id} value by value: the file was edited since, so only the tuned keys were set "
            "back and the other edits were kept")
    undo = apply_tuning(current, changes, origin=origin, publish=publish, state_dir=state, env=base_env,
                        undo_of=target.id, note=note)
    if undo.id:
        return undo
    # The values were already back (edited by hand): record the undo anyway, so it is not offered again.
    wall = time.time()
    undo = Tuning(new_tuning_id(wall), wall, origin, (), (), target.id,
                  f"undid {target.id}: its keys already had their old values; nothing written")
    write_entry(state, undo)
    publish_tuning(undo, publish)
    return undo
