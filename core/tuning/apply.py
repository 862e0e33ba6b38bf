"""Apply a tuning: validate, write each key in the file that defines it, journal the exact bytes, publish.

Writes go through the comment-preserving writer with the hash of the file as it was read, so only the
changed lines change and a file edited since is never overwritten (:class:`TuningError`, ``conflict``).
A key defined in an ``$include``d file is written in that file; a key in no file is written in the config
file itself; with no config file yet, the first tuning creates one holding only the tuned keys
(docs/design/tuning.md#apply-where-each-key-is-written). Everything here is blocking file I/O: the gateway
runs it in a worker thread.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.config.document import parse_document, text_hash
from core.config.errors import ConfigConflictError, ConfigError
from core.config.includes import INCLUDE_KEY
from core.config.loader import LoadedConfig, effective_env, resolve_text
from core.config.reload_plan import rule_for
from core.config.safe_write import ConfigNotWritableError, replace_with_backups
from core.config.schema import redacted_dump
from core.config.spans import PathPart, join_path, split_path
from core.config.writer import IncludeTarget, set_values, value_at
from core.events.base import Event
from core.tuning.events import ConfigTuned
from core.tuning.journal import FileSnapshot, Origin, TunedChange, Tuning, TuningError, new_tuning_id, write_entry
from core.tuning.propose import Change, propose

__all__ = ["Route", "apply_tuning", "publish_tuning", "restore_files", "route_of"]

Publish = Callable[[Event], None]
_MISSING = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """Where one key is written: ``file``, at ``key`` (relative to that file's top), and for an included
    file the object it is mounted at in the whole config."""

    file: Path
    key: str
    include: IncludeTarget | None = None


def route_of(loaded: LoadedConfig, path: str) -> Route:
    """The file that defines ``path`` (or its nearest written ancestor); the config file when none does."""
    parts = split_path(path)
    found: tuple[PathPart, ...] | None = None
    for end in range(len(parts), 0, -1):
        origin = loaded.origins.get(tuple(parts[:end]))
        if origin is not None:
            found = tuple(parts[:end]) if origin.included else None
            if found is None:
                return _into_include(loaded, parts, tuple(parts[:end])) or Route(loaded.path, path)
            break
    if found is None:
        return Route(loaded.path, path)
    file = loaded.origins[found].file
    mount = found
    while mount:
        parent = loaded.origins.get(mount[:-1])
        if parent is None or parent.file != file or not parent.included:
            break
        mount = mount[:-1]
    # ``mount`` is the topmost key still read from ``file``: the include's object sits one level up.
    mount = mount[:-1]
    return Route(Path(file), join_path(parts[len(mount):]), IncludeTarget(loaded.path, tuple(mount)))


def _into_include(loaded: LoadedConfig, parts: Sequence[PathPart], at: tuple[PathPart, ...]) -> Route | None:
    """A new key under an object of the config file that is an ``$include`` goes into the included file
    (the last one of a list: it wins the merge), where the user keeps that section."""
    if loaded.raw_text is None:
        return None
    try:
        node = value_at(parse_document(loaded.raw_text, loaded.path).value, at, None)
    except ConfigError:
        return None
    spec = node.get(INCLUDE_KEY) if isinstance(node, dict) else None
    target = spec[-1] if isinstance(spec, list) and spec and isinstance(spec[-1], str) else spec
    if not isinstance(target, str) or not target:
        return None
    file = Path(os.path.normpath(loaded.path.parent / os.path.expanduser(target)))
    return Route(file, join_path(parts[len(at):]), IncludeTarget(loaded.path, at))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _check_fresh(loaded: LoadedConfig, env: Mapping[str, str], expected_hash: str | None) -> None:
    """Refuse when the config (or a file it includes) changed on disk since ``loaded`` was read."""
    current = _read(loaded.path)
    base = loaded.raw_hash if expected_hash is None else expected_hash
    if current is None and not loaded.exists:
        return
    if current is None or text_hash(current) != base:
        raise TuningError(f"{loaded.path} changed on disk since it was read; reload it and tune again "
                          "(nothing was written)", conflict=True)
    if loaded.include_files:
        try:
            now = resolve_text(current.decode("utf-8"), loaded.path, env)
        except (ConfigError, UnicodeDecodeError):
            now = None
        if now is None or now.data != loaded.data:
            raise TuningError("a file included by the config changed on disk since it was read; reload it and "
                              "tune again (nothing was written)", conflict=True)


def restore_files(snapshots: Sequence[FileSnapshot]) -> None:
    """Put each file back to ``before`` (removing one that did not exist), through the same safe replace."""
    for snap in snapshots:
        path = Path(snap.path)
        if snap.before is None:
            path.unlink(missing_ok=True)
        else:
            replace_with_backups(path, snap.before.encode("utf-8"))


def _write_all(loaded: LoadedConfig, changes: Sequence[Change], env: Mapping[str, str]) -> list[FileSnapshot]:
    """Write every change in its file; on a failure, files already written are put back."""
    groups: dict[Path, tuple[Route, list[tuple[str, Any]]]] = {}
    for change in changes:
        route = route_of(loaded, change.path)
        groups.setdefault(route.file, (route, []))[1].append((route.key, change.value))
    done: list[FileSnapshot] = []
    try:
        for file, (route, values) in groups.items():
            before = _read(file)
            base = None if before is None else text_hash(before)
            result = set_values(file, values, base_hash=base, env=env, include=route.include)
            if not result.noop:
                done.append(FileSnapshot(str(file.absolute()), None if before is None else before.decode("utf-8"),
                                         result.text))
    except ConfigNotWritableError as exc:
        restore_files(done)
        raise TuningError(exc.issues[0].format() if exc.issues else str(exc)) from None
    except ConfigConflictError as exc:
        restore_files(done)
        raise TuningError(f"{exc} (nothing was written)", conflict=True) from None
    except ConfigError as exc:
        restore_files(done)
        errors = {i.path or "<config>": i.message for i in exc.issues}
        raise TuningError("the change was refused: " + "; ".join(i.format() for i in exc.issues),
                          errors=errors) from None
    return done


def publish_tuning(tuning: Tuning, publish: Publish | None) -> None:
    if publish is not None:
        publish(ConfigTuned(
            tuning_id=tuning.id, changes=tuple((c.path, c.old, c.new) for c in tuning.changes),
            origin=tuning.origin, reload={c.path: c.reload for c in tuning.changes},
            files=tuple(f.path for f in tuning.files), undo_of=tuning.undo_of, note=tuning.note))


def apply_tuning(loaded: LoadedConfig, changes: Iterable[Change], *, origin: Origin, publish: Publish | None,
                 state_dir: Path | None = None, env: Mapping[str, str] | None = None,
                 expected_hash: str | None = None, undo_of: str | None = None, note: str = "") -> Tuning:
    """Validate ``changes`` against ``loaded``, write them, journal the bytes and publish ``config.tuned``.

    Raises :class:`TuningError` (nothing written): invalid values (``errors`` per key), a file changed
    since it was read (``conflict``), a read-only or immutable file. A tuning that changes no value
    returns a tuning with no changes and an empty id, and records nothing.
    """
    wanted = tuple(changes)
    proposal = propose(loaded, wanted)
    if not proposal.ok or proposal.candidate is None:
        raise TuningError("invalid value: " + "; ".join(f"{k}: {v}" for k, v in proposal.errors.items()),
                          errors=proposal.errors)
    base_env: Mapping[str, str] = os.environ if env is None else env
    full_env = effective_env(base_env, loaded.state_dir)
    _check_fresh(loaded, full_env, expected_hash)
    before, after = redacted_dump(loaded.config), redacted_dump(proposal.candidate)
    tuned = []
    for change in wanted:
        parts = split_path(change.path)
        old, new = value_at(before, parts, None), value_at(after, parts, None)
        if old != new:
            tuned.append(TunedChange(change.path, old, new, rule_for(change.path).reload.value,
                                     was_set=loaded.origins.get(tuple(parts)) is not None))
    wall = time.time()
    if not tuned:
        return Tuning("", wall, origin, (), (), undo_of, "no value changed; nothing written")
    files = _write_all(loaded, [c for c in wanted if c.path in {t.path for t in tuned}], base_env)
    created = str(loaded.path) if not loaded.exists and any(f.path == str(loaded.path.absolute())
                                                               for f in files) else None
    if created is not None:
        note = (note + "; " if note else "") + f"created {created} holding only the tuned keys"
    tuning = Tuning(new_tuning_id(wall), wall, origin, tuple(tuned), tuple(files), undo_of, note, created)
    write_entry(state_dir or loaded.state_dir, tuning)
    publish_tuning(tuning, publish)
    return tuning
