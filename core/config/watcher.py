"""Watch the config file (and its includes) and reload it when it changes (docs/design/config.md#hot-reload,
docs/design/config.md#clawtop-goes-further).

Polling instead of inotify: it works the same on every OS, on network and bind-mounted files and
with editors that replace files by rename. A stat (``mtime_ns``, size, inode) every 100 ms is
nearly free; only a changed stat reads the file, and only a changed content hash counts as a
change (``touch`` alone does not reload). Changes are debounced (``gateway.reload.debounceMs``,
default 300) so an editor's save-in-several-writes applies once, with end-to-end latency well
under a second. An invalid file is reported through ``on_invalid`` and the running config stays.
All file I/O and the load itself run in a worker thread; the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from core.config.errors import ConfigError, ConfigIssue
from core.config.loader import LoadedConfig, load_config

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.1
MISSING_RETRIES = 2
MISSING_RETRY_S = 0.15

Signature = tuple[int, int, int] | None


def _stat(path: Path) -> Signature:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _signatures(paths: tuple[Path, ...]) -> tuple[Signature, ...]:
    return tuple(_stat(p) for p in paths)


def _content_hash(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
        digest.update(b"\0")
    return digest.hexdigest()


class ConfigWatcher:
    """Polls ``path`` and its includes; calls ``on_change`` with each new valid config.

    ``on_change`` receives the new :class:`LoadedConfig` (the gateway diffs it against the one it
    runs, plans the reload and emits ``ConfigReloaded``); ``on_invalid`` receives the
    :class:`ConfigError` (the gateway emits ``ConfigInvalid`` and keeps the old config).
    """

    def __init__(
        self,
        path: Path,
        *,
        debounce_ms: int,
        on_change: Callable[[LoadedConfig], Awaitable[None]],
        on_invalid: Callable[[ConfigError], Awaitable[None]],
        explicit: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        current: LoadedConfig | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self.debounce_ms = max(0, int(debounce_ms))
        self._on_change = on_change
        self._on_invalid = on_invalid
        self._explicit = explicit if explicit is not None else self.path
        self._env = env
        self._poll = poll_interval_s
        self._files: tuple[Path, ...] = (self.path, *(current.include_files if current else ()))
        self._applied_hash: str | None = None
        self._current = current
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start polling; the state on disk right now is taken as already applied."""
        if self.running:
            return
        if self._current is None:
            # Learn the include list so edits to included files are seen from the start.
            with contextlib.suppress(Exception):
                self._current = await asyncio.to_thread(load_config, self._explicit, env=self._env)
                self._files = (self.path, *self._current.include_files)
        # Baseline taken here, not in the task: a write right after start() must not be missed.
        seen = await asyncio.to_thread(_signatures, self._files)
        self._applied_hash = await asyncio.to_thread(_content_hash, self._files)
        self._task = asyncio.create_task(self._run(seen), name=f"config-watcher:{self.path.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def set_debounce(self, debounce_ms: int) -> None:
        """``gateway.reload.debounceMs`` is itself hot: the next change uses the new value."""
        self.debounce_ms = max(0, int(debounce_ms))

    def reload_now(self) -> None:
        """Skip the wait: an in-process writer just wrote the file (applied with no delay)."""
        self._wake.set()

    async def _run(self, seen: tuple[Signature, ...]) -> None:
        files = self._files
        while True:
            forced = await self._sleep(self._poll)
            now = await asyncio.to_thread(_signatures, files)
            if now == seen and not forced:
                continue
            seen = now if forced else await self._settle(now)
            try:
                await self._reload()
            except asyncio.CancelledError:
                raise
            except Exception:  # a callback bug must not kill the watcher for good
                log.exception("config reload callback failed")
            if files != self._files:  # the include list changed: watch the new set
                files = self._files
                seen = await asyncio.to_thread(_signatures, files)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, returning early (True) when :meth:`reload_now` was called."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    async def _settle(self, sig: tuple[Signature, ...]) -> tuple[Signature, ...]:
        """Wait until the files stop changing for ``debounce_ms`` (editors write in bursts)."""
        files = self._files
        quiet = 0.0
        while quiet * 1000 < self.debounce_ms:
            step = min(self._poll, (self.debounce_ms / 1000) - quiet)
            if await self._sleep(step):
                return await asyncio.to_thread(_signatures, files)
            now = await asyncio.to_thread(_signatures, files)
            if now != sig:
                sig, quiet = now, 0.0
            else:
                quiet += step
        return sig

    async def _reload(self) -> None:
        digest = await asyncio.to_thread(_content_hash, self._files)
        if digest == self._applied_hash:
            return
        for attempt in range(MISSING_RETRIES + 1):
            if await asyncio.to_thread(self.path.exists):
                break
            if attempt == MISSING_RETRIES:
                log.warning("config reload skipped (config file not found): %s", self.path)
                self._applied_hash = digest
                return
            await asyncio.sleep(MISSING_RETRY_S)
        if attempt:  # it came back (editors delete, then rename): hash what is there now
            digest = await asyncio.to_thread(_content_hash, self._files)
        try:
            loaded = await asyncio.to_thread(load_config, self._explicit, env=self._env)
        except ConfigError as exc:
            self._applied_hash = digest
            log.warning("config reload skipped (invalid config): %s", exc.format())
            await self._on_invalid(exc)
            return
        except Exception as exc:  # noqa: BLE001 — an unexpected loader bug must not escape as a traceback
            self._applied_hash = digest
            error = ConfigError([ConfigIssue("", f"reload failed: {exc}", file=str(self.path))],
                                file=str(self.path))
            await self._on_invalid(error)
            return
        files = (self.path, *loaded.include_files)
        if files != self._files:
            self._files = files
            digest = await asyncio.to_thread(_content_hash, files)
        # The hash from *before* the load: a write racing the load is seen and loaded next poll.
        self._applied_hash = digest
        self._current = loaded
        await self._on_change(loaded)
