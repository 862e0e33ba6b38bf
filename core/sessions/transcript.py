"""Reading and durably appending JSONL transcripts (docs/design/sessions.md#transcript-entries).

Reading never raises on bad content: a line that is not a JSON object is skipped and reported
as :class:`~core.sessions.events.TornLineSkipped` (``last=True`` for a torn tail — the normal
trace of a crash mid-append — ``last=False`` for damage in the middle). The fast path parses the
whole file in one ``json.loads`` call (one C-level pass, and the decoder's key memo is shared by
all lines, so repeated key strings are stored once — that is what keeps a loaded session under
2× the file size); any problem falls back to a line-by-line parse that pinpoints the bad lines.

Appending: one ``os.write`` of the whole line on an ``O_APPEND`` descriptor, then the
``session.fsync`` policy, and only then does the call return — "acknowledged" means returned.
``batch`` is group commit: appenders that wrote while another thread was fsyncing are covered by
the next single fsync, so they return durable without each paying for their own. Before the
first append a torn tail left by a crash is cut off (it was never acknowledged), so a new line
never gets glued onto a fragment.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from core.events.base import Event
from core.sessions.events import TornLineSkipped
from core.sessions.model import Entry, Session, SessionHeader

__all__ = [
    "FsyncPolicy",
    "Publish",
    "TranscriptWriter",
    "dump_line",
    "read_transcript",
    "read_transcript_async",
    "write_transcript",
]

FsyncPolicy = Literal["always", "batch", "never"]
Publish = Callable[[Event], None]

_TAIL_CHUNK = 64 * 1024
_NEWLINE_TO_COMMA = bytes.maketrans(b"\n", b",")


def dump_line(raw: dict[str, Any]) -> bytes:
    """One JSONL line as OpenClaw writes it (``JSON.stringify``: compact, non-ASCII kept)."""
    return (json.dumps(raw, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def read_transcript(path: str | os.PathLike[str], *, publish: Publish | None = None) -> Session:
    """Load a transcript; bad lines are skipped and published, never raised.

    A missing or unreadable header gives a synthetic one whose id is the file stem (so a file
    whose very first append was torn still opens). Raises only ``OSError`` for the file itself.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        data = fh.read()
    # The parse allocates ~10 containers per line and never frees any: every generational GC
    # pass it triggers is pure overhead (a third of the load time on a 50 MB file).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        objects = _parse_fast(data)
        if objects is None:
            objects = list(_parse_slow(data, str(path), publish))
        return _build(path, objects, len(data), st.st_mtime_ns)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(path: Path, objects: list[dict[str, Any]], size: int, mtime_ns: int) -> Session:
    header: SessionHeader | None = None
    if objects and objects[0].get("type") == "session":
        header = SessionHeader.from_json(objects[0])
        objects = objects[1:]
    if header is None:
        header = SessionHeader(path.stem.split("-topic-")[0], version=2)
    from_json = Entry.from_json
    session = Session(header, [from_json(o) for o in objects])
    session.path = str(path)
    session.size = size
    session.mtime_ns = mtime_ns
    return session


async def read_transcript_async(
    path: str | os.PathLike[str], *, publish: Publish | None = None
) -> Session:
    """:func:`read_transcript` off the event loop (publishing still happens on the loop)."""
    events: list[Event] = []
    session = await asyncio.to_thread(read_transcript, path, publish=events.append)
    for event in events:
        if publish is not None:
            publish(event)
    return session


def _parse_fast(data: bytes) -> list[dict[str, Any]] | None:
    """Whole file as one JSON array; ``None`` when anything is off (then parse line by line).

    Safe because JSON strings cannot hold a raw newline: every ``\\n`` is a line separator.
    """
    body = data.strip()
    if not body:
        return []
    try:
        objects: list[dict[str, Any]] = json.loads(b"[" + body.translate(_NEWLINE_TO_COMMA) + b"]")
    except ValueError:
        return None
    if len(objects) != body.count(b"\n") + 1 or not all(type(o) is dict for o in objects):
        return None
    return objects


def _parse_slow(data: bytes, path: str, publish: Publish | None) -> Iterable[dict[str, Any]]:
    lines = data.split(b"\n")
    last_index = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    offset = 0
    for index, line in enumerate(lines):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        error = ""
        try:
            obj = json.loads(line)
            if type(obj) is dict:
                yield obj
                continue
            error = f"not a JSON object ({type(obj).__name__})"
        except ValueError as exc:
            error = str(exc)[:200]
        if publish is not None:
            publish(TornLineSkipped(path=path, line_no=index + 1, offset=start,
                                    length=len(line), last=index == last_index, error=error))


def write_transcript(path: str | os.PathLike[str], session: Session,
                     *, fsync: FsyncPolicy = "always") -> None:
    """Write a whole transcript atomically (temp file + rename): used by create and import,
    where a half-written new file must never become visible."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    chunks = [dump_line(session.header.raw)]
    chunks.extend(dump_line(e.raw) for e in session.entries)
    with open(tmp, "wb") as fh:
        fh.write(b"".join(chunks))
        fh.flush()
        if fsync != "never":
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if fsync != "never":
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a create/rename durable: the new directory entry is data of the directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TranscriptWriter:
    """Appends lines to one transcript; thread-safe; returns only once ``fsync`` is satisfied.

    Use one writer per file per process (the store keeps them), so group commit can see every
    concurrent appender of that file.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: FsyncPolicy = "always") -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0
        self.fsyncs = 0
        """fsync calls made (group commit makes this smaller than the number of appends)."""
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if created:
            if fsync != "never":
                _fsync_dir(self.path.parent)
        else:
            self._repair_tail()

    def _repair_tail(self) -> None:
        """Cut a torn last line (never acknowledged) or end a complete one with a newline."""
        with open(self.path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            pos, tail = size, b""
            while pos > 0 and b"\n" not in tail:
                step = min(_TAIL_CHUNK, pos)
                pos -= step
                fh.seek(pos)
                tail = fh.read(step) + tail
            cut = tail.rfind(b"\n") + 1
            fragment = tail[cut:]
        try:
            json.loads(fragment)
            complete = True
        except ValueError:
            complete = False
        if complete:
            os.write(self._fd, b"\n")
        else:
            os.truncate(self.path, pos + cut)
        if self.fsync != "never":
            os.fsync(self._fd)

    def append(self, entries: Entry | Iterable[Entry]) -> None:
        """Write the entries' lines in one write, then satisfy the fsync policy; returns when
        they are acknowledged."""
        items = [entries] if isinstance(entries, Entry) else list(entries)
        data = b"".join(dump_line(e.raw) for e in items)
        with self._write_lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._written += 1
            ticket = self._written
        if self.fsync == "never":
            return
        with self._sync_lock:
            if self.fsync == "batch" and self._synced >= ticket:
                return  # an fsync that started after our write already covered it
            target = self._written
            os.fsync(self._fd)
            self.fsyncs += 1
            self._synced = max(self._synced, target)

    async def append_async(self, entries: Entry | Iterable[Entry]) -> None:
        """:meth:`append` in a worker thread, so the event loop never waits on the disk."""
        items = [entries] if isinstance(entries, Entry) else list(entries)
        await asyncio.to_thread(self.append, items)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
