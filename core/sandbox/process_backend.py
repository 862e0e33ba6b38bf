"""Process fallback backend: tool commands as host subprocesses — NOT ISOLATED
(docs/design/sandbox.md#process-fallback).

Used where no Docker daemon answers (``sandbox.fallback: "process"``) or with ``backend:
"process"``, so clawtop works out of the box without Docker. It applies only what the OS offers per
process, in a new session / process group:

- ``RLIMIT_AS`` from ``memory`` (address space, so approximate: a hog fails to allocate instead of
  being OOM-killed);
- ``RLIMIT_NPROC`` from ``pidsLimit``. The kernel counts *all* processes of the user, so the limit
  is set to the user's current count plus ``pidsLimit`` — "at most pidsLimit more";
- ``RLIMIT_CPU`` (CPU seconds): ``ulimits.cpu`` when configured, else the exec timeout × cores;
- the configured ``ulimits`` (``nofile``, ``fsize`` …);
- a per-exec timeout that SIGKILLs the whole process group, and every process carrying the
  command's environment marker (``setsid`` children left the group).

**Not enforced:** network and filesystem isolation, read-only root, capabilities, CPU rate,
workspace access mode. Every event says ``isolated=False``; text fields and the backend name say
NOT ISOLATED, so nobody mistakes this for a container. Stats come from ``/proc``, summed over the
process groups of the scope's running commands.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import resource
import signal
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.config.schema.sandbox import SandboxConfig, UlimitRange
from core.events.kinds import LogMessage
from core.sandbox.contract import OUTPUT_MARKER, ContainerInfo, ExecResult, Limits, Publish
from core.sandbox.events import SandboxExec, SandboxLimitHit, SandboxLimitsUpdated, SandboxStats
from core.sandbox.hardening import limits_of
from core.sandbox.naming import config_hash, container_name, workspace_dir
from core.sandbox.reaper import MARKER_ENV, kill_marked_host_processes

__all__ = ["NOT_ISOLATED", "NOT_ENFORCED", "ProcessBackend", "proc_group_usage"]

log = logging.getLogger(__name__)

NOT_ISOLATED = "NOT ISOLATED"
NOT_ENFORCED = ("network isolation", "filesystem isolation", "read-only root", "capabilities",
                "CPU rate", "workspace access mode")
_PATH = "/usr/local/bin:/usr/bin:/bin"
_DEFAULT_MAX_OUTPUT = 1 << 20
_TICKS = os.sysconf("SC_CLK_TCK")
_RLIMITS = {"nofile": resource.RLIMIT_NOFILE, "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE,
            "stack": resource.RLIMIT_STACK, "nproc": resource.RLIMIT_NPROC, "cpu": resource.RLIMIT_CPU,
            "as": resource.RLIMIT_AS, "memlock": resource.RLIMIT_MEMLOCK}


def _user_process_count(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += 1
    return count


def proc_group_usage(pgids: set[int]) -> tuple[int, int, int]:
    """(cpu ticks, resident bytes, process count) summed over processes in ``pgids`` from
    ``/proc/<pid>/stat`` (pgrp, utime, stime) and ``/proc/<pid>/status`` (VmRSS)."""
    ticks = rss = n = 0
    if not pgids:
        return 0, 0, 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) not in pgids:  # after "comm)": state ppid pgrp ...
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime stime
            n += 1
            with open(f"/proc/{entry.name}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        rss += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            continue  # exited while we read
    return ticks, rss, n


class ProcessBackend:
    """:class:`~core.sandbox.api.SandboxBackend` without Docker. NOT ISOLATED."""

    name = f"process ({NOT_ISOLATED})"
    isolated = False

    def __init__(self, config: SandboxConfig, *, publish: Publish, state_dir: str | Path) -> None:
        self.config = config
        self._publish = publish
        root = config.workspace_root or str(Path(state_dir) / "sandboxes")
        self._root = Path(os.path.expanduser(root))
        self._limits: Limits = limits_of(config)
        self._overrides: dict[str, Limits] = {}
        self._scopes: dict[str, dict[str, float | None]] = {}
        self._running: dict[str, set[int]] = {}  # scope → pgids of running commands
        self._cpu_prev: dict[str, tuple[float, int]] = {}
        self._warn()

    def _warn(self) -> None:
        msg = f"sandbox backend is host processes, {NOT_ISOLATED}: not enforced: {', '.join(NOT_ENFORCED)}"
        log.warning(msg)
        self._publish(LogMessage(level="warning", message=msg))

    def _name(self, scope_key: str) -> str:
        return container_name(self.config.docker.container_prefix, scope_key)

    def _workspace(self, scope_key: str) -> Path:
        return workspace_dir(self._root, scope_key)

    def limits(self, scope_key: str) -> Limits:
        """Limits the next exec in ``scope_key`` gets (config, or a live override)."""
        return self._overrides.get(scope_key, self._overrides.get("*", self._limits))

    def _info(self, scope_key: str) -> ContainerInfo:
        meta = self._scopes[scope_key]
        ws = self._workspace(scope_key)
        return ContainerInfo(
            name=self._name(scope_key), scope_key=scope_key, image=f"host ({NOT_ISOLATED})",
            state="running" if self._running.get(scope_key) else "idle",
            created_wall=float(meta["created"] or 0.0), last_used_wall=meta["used"],
            config_hash=config_hash(self.config, workspace=ws), backend="process", isolated=False,
            limits=self.limits(scope_key), hardening=(NOT_ISOLATED, "rlimit-as", "rlimit-nproc", "process-group"),
        )

    async def ensure(self, scope_key: str) -> ContainerInfo:
        """Create the scope's workspace directory (nothing else exists to create)."""
        ws = self._workspace(scope_key)
        await asyncio.to_thread(ws.mkdir, parents=True, exist_ok=True)
        self._scopes.setdefault(scope_key, {"created": time.time(), "used": None})
        return self._info(scope_key)

    def _cwd(self, scope_key: str, workdir: str | None) -> Path:
        # Map the container workdir (``/workspace``) onto the host workspace; relative paths too.
        ws = self._workspace(scope_key)
        if not workdir:
            return ws
        cwd = self.config.docker.workdir.rstrip("/")
        if workdir == cwd or workdir.startswith(cwd + "/"):
            return ws / workdir[len(cwd):].lstrip("/")
        return ws / workdir if not os.path.isabs(workdir) else Path(workdir)

    def _preexec(self, limits: Limits, cpu_seconds: int | None) -> Any:
        nproc = None
        if limits.pids_limit is not None:
            nproc = _user_process_count(os.getuid()) + limits.pids_limit
        ulimits = self.config.docker.ulimits

        def apply() -> None:  # runs in the child between fork and exec: no allocation-heavy work
            for key, value in ulimits.items():
                res = _RLIMITS.get(key)
                if res is None:
                    continue
                soft: int
                hard: int
                if isinstance(value, UlimitRange):  # the schema guarantees at least one side (`or 0` never applies)
                    soft = value.soft if value.soft is not None else value.hard or 0
                    hard = value.hard if value.hard is not None else value.soft or 0
                elif isinstance(value, str):
                    low, _, high = value.partition(":")
                    soft, hard = int(low), int(high or low)
                else:
                    soft = hard = int(value)
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(res, (soft, hard))
            if limits.memory_bytes is not None:
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            if nproc is not None:
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if cpu_seconds is not None:
                resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))

        return apply

    async def exec(
        self,
        scope_key: str,
        argv: Sequence[str],
        *,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout_ms: int | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Run ``argv`` on the host in a new process group with the scope's rlimits. NOT ISOLATED."""
        await self.ensure(scope_key)
        self._scopes[scope_key]["used"] = time.time()
        ws = self._workspace(scope_key)
        limits = self.limits(scope_key)
        cap = max_output_bytes or _DEFAULT_MAX_OUTPUT
        cpu_seconds = None
        if "cpu" not in self.config.docker.ulimits and timeout_ms:
            cpu_seconds = int(timeout_ms / 1000 * max(1.0, limits.cpus or 1.0)) + 1
        token = uuid.uuid4().hex[:16]
        full_env = {"HOME": str(ws), "LANG": "C.UTF-8", "PATH": _PATH, **self.config.docker.env, **(env or {}),
                    MARKER_ENV: token}
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=self._cwd(scope_key, workdir), env=full_env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True, preexec_fn=self._preexec(limits, cpu_seconds),
            )
        except OSError as exc:  # not found / not executable / bad cwd: a shell would say 127/126
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            self._publish(SandboxExec(name=self._name(scope_key), scope=scope_key,
                                      argv0=os.path.basename(argv[0]) if argv else "",
                                      exit_code=code, duration_ms=0.0, isolated=False))
            return ExecResult(exit_code=code, stdout="", stderr=f"{exc} ({NOT_ISOLATED})\n")
        pgid = proc.pid  # start_new_session: the child leads its own session and group
        self._running.setdefault(scope_key, set()).add(pgid)
        out, err = _Capped(cap), _Capped(cap)
        timed_out = False
        try:
            await asyncio.wait_for(
                asyncio.gather(out.drain(proc.stdout), err.drain(proc.stderr), proc.wait()),
                timeout=timeout_ms / 1000 if timeout_ms else None,
            )
        except TimeoutError:
            timed_out = True
        finally:
            if timed_out or proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
                await asyncio.to_thread(kill_marked_host_processes, token)  # setsid children left the group
                await proc.wait()
            self._running[scope_key].discard(pgid)
        rc = proc.returncode
        exit_code = 128 - rc if rc is not None and rc < 0 else rc  # docker convention: 128 + signal
        duration_ms = (time.monotonic() - started) * 1000
        name = self._name(scope_key)
        argv0 = os.path.basename(argv[0]) if argv else ""
        if timed_out:
            self._publish(SandboxLimitHit(name=name, limit="timeout", scope=scope_key, argv0=argv0, isolated=False,
                                          detail=f"killed process group after {timeout_ms} ms ({NOT_ISOLATED})"))
        elif rc == -signal.SIGXCPU:  # RLIMIT_CPU soft limit reached
            self._publish(SandboxLimitHit(name=name, limit="cpu", scope=scope_key, argv0=argv0, isolated=False,
                                          detail=f"RLIMIT_CPU exceeded ({NOT_ISOLATED})"))
        self._publish(SandboxExec(name=name, scope=scope_key, argv0=argv0, exit_code=exit_code,
                                  duration_ms=round(duration_ms, 2), timed_out=timed_out,
                                  truncated=out.truncated or err.truncated, oom_killed=False, isolated=False))
        return ExecResult(exit_code=exit_code, stdout=out.text(), stderr=err.text(),
                          truncated=out.truncated or err.truncated, timed_out=timed_out,
                          oom_killed=False, duration_ms=duration_ms)

    async def list(self) -> list[ContainerInfo]:
        return [self._info(k) for k in self._scopes]

    async def prune(self, *, force: bool = False) -> builtins.list[str]:
        """Forget idle scopes (``force``: all idle ones). Workspace directories are kept
        (docs/design/sandbox.md#registry-and-pruning)."""
        now = time.time()
        idle_s = self.config.prune.idle_hours * 3600
        removed = []
        for key, meta in list(self._scopes.items()):
            if self._running.get(key):
                continue
            last = meta["used"] or meta["created"] or now
            if force or (idle_s and now - last > idle_s):
                del self._scopes[key]
                removed.append(self._name(key))
        return removed

    async def update_limits(self, scope_key: str | None, limits: Limits) -> builtins.list[str]:
        """New rlimits for the next commands (rlimits of a running process cannot be widened
        safely from outside); emits ``SandboxLimitsUpdated`` saying so."""
        keys = [scope_key] if scope_key is not None else ["*"]
        names = [self._name(k) for k in (keys if scope_key is not None else self._scopes)]
        for key in keys:
            self._overrides[key] = limits
        for name in names:
            self._publish(SandboxLimitsUpdated(
                name=name, changed=("cpus", "memory", "memorySwap", "pidsLimit"), applies_on_recreate=False,
                after=f"{limits} (rlimits of the next commands; {NOT_ISOLATED})", isolated=False))
        return names

    async def stats(self) -> builtins.list[SandboxStats]:
        """One ``SandboxStats`` per known scope from ``/proc`` (CPU % since the previous call,
        resident memory, process count), published and returned."""
        out = []
        for key in list(self._scopes):
            pgids = set(self._running.get(key, ()))
            ticks, rss, n = await asyncio.to_thread(proc_group_usage, pgids)
            now = time.monotonic()
            prev = self._cpu_prev.get(key)
            self._cpu_prev[key] = (now, ticks)
            cpu = 0.0
            if prev is not None and now > prev[0] and ticks >= prev[1]:
                cpu = (ticks - prev[1]) / _TICKS / (now - prev[0]) * 100.0
            lim = self.limits(key)
            event = SandboxStats(name=self._name(key), cpu_percent=round(cpu, 2), memory_bytes=rss,
                                 memory_limit_bytes=lim.memory_bytes, pids=n, pids_limit=lim.pids_limit,
                                 isolated=False)
            self._publish(event)
            out.append(event)
        return out

    async def close(self) -> None:
        """Kill still-running commands: nothing else would ever reap them."""
        for pgids in self._running.values():
            for pgid in list(pgids):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)


class _Capped:
    """Collects a stream up to ``cap`` bytes and keeps draining (discarding) past it, so a chatty
    command never blocks on a full pipe."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.truncated = False

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            room = self.cap - len(self.buf)
            if room > 0:
                self.buf += chunk[:room]
            if len(chunk) > room:
                self.truncated = True

    def text(self) -> str:
        s = self.buf.decode("utf-8", "replace")
        return s + OUTPUT_MARKER.format(limit=self.cap) if self.truncated else s
