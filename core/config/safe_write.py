"""Replacing a config file without losing anything: a writability check, rotating backups and an atomic
replace that rolls the backups back when it fails (docs/design/config.md#backups-and-write-safety).

The order matters for the "nothing lost, nothing stray" rule: the new text is written to a temp file
first (a full disk or a read-only folder fails here, before any backup exists), then the backups
rotate, then ``os.replace``; if the replace fails (an immutable file), the rotation is undone so the
folder looks exactly as before. A writer killed between its temp file and the replace (``kill -9``) cannot
clean up after itself, so temp files carry their writer's pid and the next write removes those of dead
writers.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from core.config.errors import ConfigError, ConfigIssue

__all__ = ["BACKUPS", "ConfigNotWritableError", "check_writable", "remove_dead_temp_files", "replace_with_backups",
           "write_new"]

BACKUPS = 5


class ConfigNotWritableError(ConfigError):
    """The file (or its folder) cannot be written: read-only, immutable or not permitted.
    Nothing was written and no backup was left behind."""


def _refuse(path: Path, why: str) -> ConfigNotWritableError:
    return ConfigNotWritableError(
        [ConfigIssue("", f"cannot write this file: {why}; nothing was changed", file=str(path))], file=str(path))


def check_writable(path: Path) -> None:
    """Refuse a file that is read-only by its mode even when the process could override it (root):
    a user who made the config read-only meant it not to change."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise _refuse(path, f"it is read-only (mode {stat.filemode(mode)})")
    if not os.access(path, os.W_OK):
        raise _refuse(path, "no write permission (read-only or immutable)")


def _backup_names(path: Path) -> list[Path]:
    return [path.with_name(path.name + ".bak")] + [path.with_name(f"{path.name}.bak.{i}") for i in range(1, BACKUPS)]


def _rotate(path: Path) -> tuple[Path, list[tuple[Path, Path]]]:
    """``.bak`` becomes the file as it is now; older copies shift to ``.bak.1`` …; returns the moves made."""
    names = _backup_names(path)
    moves: list[tuple[Path, Path]] = []
    for older, newer in zip(reversed(names[1:]), reversed(names[:-1]), strict=True):
        if newer.exists():
            os.replace(newer, older)
            moves.append((newer, older))
    shutil.copy2(path, names[0])
    return names[0], moves


def _unrotate(backup: Path, moves: list[tuple[Path, Path]]) -> None:
    backup.unlink(missing_ok=True)
    for newer, older in reversed(moves):
        os.replace(older, newer)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_dead_temp_files(path: Path) -> list[Path]:
    """Remove the temp files a killed writer of ``path`` left (``.<name>.<pid>.<random>.tmp`` whose pid
    is gone); returns those removed. Only our own pattern is touched, and never a file of a live process:
    this one's (another thread may be writing) or one whose pid is still running (or was reused; the
    file then stays until a later write)."""
    prefix = _temp_prefix(path)
    removed: list[Path] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        stray = path.parent / name
        try:
            stray.unlink()
        except OSError:
            continue
        removed.append(stray)
    return removed


def _temp_file(path: Path, data: bytes, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_dead_temp_files(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except PermissionError:
        raise _refuse(path, f"its folder {path.parent} is not writable") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` atomically; a new file is private (0600) because it may hold tokens."""
    tmp = _temp_file(path, data, 0o600)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def replace_with_backups(path: Path, data: bytes) -> Path:
    """Replace the existing ``path`` with ``data`` (its mode kept) after rotating the backups; returns the
    ``.bak`` written. Readers see the old or the new file, never half of one."""
    check_writable(path)
    tmp = _temp_file(path, data, path.stat().st_mode & 0o7777)
    try:
        backup, moves = _rotate(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        _unrotate(backup, moves)
        raise _refuse(path, "the system refused to replace it (immutable?)") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        _unrotate(backup, moves)
        raise
    _fsync_dir(path.parent)
    return backup
