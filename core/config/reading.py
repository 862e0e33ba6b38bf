"""Read a config file (or an ``$include`` target) without ever blocking or ballooning.

A FIFO, a device (``/dev/zero``) or a directory named as the config must fail fast with exit 78,
never hang or exhaust memory (docs/design/config.md#limits). So: only regular files are read; the
file is opened non-blocking (opening a FIFO with no writer would otherwise wait forever) and
checked with ``fstat`` on the opened descriptor (no swap between the check and the read); at most
``max_bytes + 1`` bytes are read, so a file that grows while being read is still refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_CONFIG_BYTES", "NotReadable", "file_kind", "read_regular_file"]

MAX_CONFIG_BYTES = 2 * 1024 * 1024
"""Largest config or include file read: 2 MiB (a real config is a few KiB)."""

_CHUNK = 64 * 1024


class NotReadable(ValueError):
    """The path exists but is not something a config can be read from; the message says why."""


def file_kind(mode: int) -> str:
    """``"a directory"``, ``"a FIFO (named pipe)"`` … for an ``st_mode`` (wording for messages)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check(mode: int, size: int, max_bytes: int) -> None:
    if not stat.S_ISREG(mode):
        raise NotReadable(f"is {file_kind(mode)}, not a regular file")
    if size > max_bytes:
        raise NotReadable(f"is {size} bytes; the limit is {max_bytes // 1024} KiB")


def read_regular_file(path: Path, *, max_bytes: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``.

    Raises :class:`NotReadable` for anything else (directory, FIFO, device, socket, too large)
    and lets ``FileNotFoundError`` / other ``OSError`` through for the caller to word.
    """
    # stat first so a device or FIFO is never even opened (opening some devices has effects).
    before = os.stat(path)
    _check(before.st_mode, before.st_size, max_bytes)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        opened = os.fstat(fd)
        _check(opened.st_mode, opened.st_size, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise NotReadable(f"grew past the limit of {max_bytes // 1024} KiB while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)
