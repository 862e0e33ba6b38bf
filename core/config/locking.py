"""The cross-process write lock of a config file (docs/design/config.md#merge-patch-with-a-base-hash).

A write checks the base hash and then replaces the file; two processes doing that at once could
both pass the check and the second replace would silently drop the first one's change (8
concurrent ``config set`` lost 9 of 39 acknowledged changes). The check and the replace therefore
run under an exclusive ``flock`` taken on the file's *folder*: the file itself cannot carry the
lock because every write replaces it with a new inode, and a lock on the folder leaves no stray
lock file next to the user's config. The lock is re-entrant within one thread (the CLI holds it
around its read-modify-write and the writer takes it again inside), and threads of one process
queue on a per-folder ``RLock`` first, since ``flock`` does not exclude threads sharing a
process's descriptors.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from core.config.errors import ConfigConflictError

__all__ = ["LOCK_TIMEOUT_S", "config_write_lock", "write_target"]

LOCK_TIMEOUT_S = 30.0
"""Longest wait for another process's write to finish before giving up (exit 75)."""

_GUARD = threading.Lock()
_LOCKS: dict[str, threading.RLock] = {}
_HELD: dict[str, tuple[int, int]] = {}  # folder → (descriptor, depth) while this process holds it


def write_target(path: Path) -> Path:
    """The file a write to ``path`` must replace: a symlinked config is written through to its
    target (replacing the link would leave the real file unchanged and the link gone)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path.absolute()


def _acquire(fd: int, path: Path) -> None:
    """``flock`` with a bounded wait: a writer stuck elsewhere must not hang this one forever."""
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ConfigConflictError(
                    f"another process has been writing {path} for {LOCK_TIMEOUT_S:.0f} s; try again"
                ) from None
            time.sleep(0.01)


def _rlock(folder: str) -> threading.RLock:
    with _GUARD:
        return _LOCKS.setdefault(folder, threading.RLock())


@contextlib.contextmanager
def config_write_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive write lock of ``path`` (its write target's folder) for the block.

    A folder that cannot be opened (no read permission) gets the in-process lock only; the replace
    itself will then usually fail too, with its own message.
    """
    folder = str(write_target(path).parent)
    with _rlock(folder):
        held = _HELD.get(folder)
        if held is not None:
            _HELD[folder] = (held[0], held[1] + 1)
            try:
                yield
            finally:
                fd, depth = _HELD[folder]
                _HELD[folder] = (fd, depth - 1)
            return
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            yield
            return
        try:
            _acquire(fd, path)
            _HELD[folder] = (fd, 1)
            try:
                yield
            finally:
                del _HELD[folder]
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
