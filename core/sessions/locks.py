"""Cross-process locks of a session directory (docs/design/sessions.md#locking).

Two kinds, for two different jobs:

- **The index lock file** ``sessions.json.lock`` guards the read-modify-write of ``sessions.json``.
  It keeps OpenClaw's protocol (created exclusively, waited for up to 10 s, taken over when older
  than 30 s) so clawtop and a running OpenClaw can share a directory, and adds what OpenClaw's
  lacks: the holder writes its pid, and a waiter that finds the holder dead takes the lock over at
  once instead of waiting out the 30 s (a ``kill -9`` of a writer used to cost every later
  command an 11 s stall and a ``TimeoutError``). The take-over is done under an ``flock`` of the
  directory, so two waiters that both saw the same dead holder cannot both remove a lock file —
  the second one re-checks and finds the first one's live lock.
- **The turn lock** (``.turn-locks/<key>.lock``, an advisory ``flock``) is held for a whole agent
  turn on one session key: the turn reads the transcript, calls the model and appends to the
  transcript and the index, and a second process doing the same in between would fork the
  session's tree (both turns would hang off the same leaf, and one of them would leave the active
  branch). The kernel drops an ``flock`` when its holder dies, so a crashed turn never leaves it
  behind. It is taken in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

__all__ = [
    "LOCK_STALE_S",
    "LOCK_TIMEOUT_S",
    "TURN_LOCK_DIR",
    "holder_pid",
    "lock_file_is_stale",
    "store_lock",
    "turn_lock",
    "turn_lock_path",
]

LOCK_TIMEOUT_S = 10.0
LOCK_STALE_S = 30.0
EMPTY_GRACE_S = 2.0
"""A lock file without a pid yet is a holder between its create and its write, unless older than
this (then its holder died in between)."""
TURN_LOCK_DIR = ".turn-locks"

_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def holder_pid(lock_path: Path) -> int | None:
    """The pid written in a lock file, None when it holds none (yet) or cannot be read."""
    try:
        text = lock_path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def lock_file_is_stale(lock_path: Path, st: os.stat_result, now: float | None = None) -> bool:
    """Whether the lock file described by ``st`` was left by a holder that is gone: older than
    :data:`LOCK_STALE_S` (OpenClaw's rule), its pid no longer running, or still empty long after
    it was created."""
    age = (time.time() if now is None else now) - st.st_mtime
    if age > LOCK_STALE_S:
        return True
    pid = holder_pid(lock_path)
    if pid is not None:
        return pid != os.getpid() and not _alive(pid)
    if st.st_size == 0:
        return age > EMPTY_GRACE_S
    return False  # content we do not know (another writer's format): only the age rule applies


def _take_over_if_stale(lock_path: Path) -> bool:
    """Remove ``lock_path`` if it is stale; True if removed. Serialised across processes by an
    ``flock`` of the directory, and re-checked on the same inode under it."""
    dir_fd = os.open(lock_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        try:
            st = lock_path.stat()
        except FileNotFoundError:
            return True  # released meanwhile: try to create it again
        if not lock_file_is_stale(lock_path, st):
            return False
        with contextlib.suppress(FileNotFoundError):
            current = lock_path.stat()
            if (current.st_ino, current.st_dev) == (st.st_ino, st.st_dev):
                lock_path.unlink()
        return True
    finally:
        os.close(dir_fd)  # closing drops the flock


@contextlib.contextmanager
def store_lock(store_path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """The in-process lock for ``store_path`` plus its cross-process lock file."""
    with _PATH_LOCKS_GUARD:
        lock = _PATH_LOCKS.setdefault(str(store_path), threading.Lock())
    with lock:
        lock_path = store_path.with_name(store_path.name + ".lock")
        deadline = time.monotonic() + timeout_s
        next_check = 0.0
        while True:
            try:
                fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                break
            except FileExistsError:
                pass
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 0.25  # a pid probe per poll would be wasteful
                if _take_over_if_stale(lock_path):
                    continue
            if now > deadline:
                pid = holder_pid(lock_path)
                who = f" by pid {pid}" if pid is not None else ""
                raise TimeoutError(f"{lock_path} held{who} for more than {timeout_s:.0f} s") from None
            time.sleep(0.02)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            yield
        finally:
            with contextlib.suppress(OSError):
                lock_path.unlink()


def turn_lock_path(sessions_dir: Path, key: str) -> Path:
    """``<sessions dir>/.turn-locks/<readable key>-<hash>.lock`` (the hash keeps keys that only
    differ in unsafe characters apart)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    readable = _SAFE.sub("_", key)[:60]
    return sessions_dir / TURN_LOCK_DIR / f"{readable}-{digest}.lock"


def _acquire(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.asynccontextmanager
async def turn_lock(path: Path) -> AsyncIterator[None]:
    """Hold the ``flock`` of ``path`` for the body.

    Waits in a thread of its own rather than the loop's default executor: a gateway with many
    sessions waiting on other processes would otherwise fill the executor with blocked waiters
    and starve the turns that hold locks of the file reads and appends they need. If the waiting
    task is cancelled, the lock the thread still obtains is released at once, never leaked."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def wait() -> None:
        try:
            fd = _acquire(path)
        except OSError as exc:  # the only failure of an open + flock; handed to the waiting task
            loop.call_soon_threadsafe(_fail, future, exc)
            return
        loop.call_soon_threadsafe(_deliver, future, fd)

    threading.Thread(target=wait, name="clawtop-turn-lock", daemon=True).start()
    fd = await future
    try:
        yield
    finally:
        os.close(fd)  # closing the only descriptor drops the flock


def _deliver(future: asyncio.Future[int], fd: int) -> None:
    if future.done():  # the waiter was cancelled meanwhile
        os.close(fd)
    else:
        future.set_result(fd)


def _fail(future: asyncio.Future[int], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
