"""Running one command in a container: timeout with a real kill, capped output, OOM/pids
detection (docs/design/sandbox.md#running-a-command, docs/design/sandbox.md#oom-detection,
docs/design/sandbox.md#limit-hit-detection).

Why a wrapper: ``docker exec`` has no timeout and no kill. The command is started as
``sh -c 'echo $$ > pidfile; exec "$@"'`` so its in-container pid is known; an exec'd process is
its own session and process-group leader, so a kill of that group also takes the children (a
fork bomb's background shells included). The kill is sent from the host (``killpg`` of the
exec's host pid, after checking it really belongs to this container) because under a pids limit
a new ``docker exec kill`` may be unable to start; otherwise from inside the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Sequence
from typing import Any

from core.sandbox.contract import OUTPUT_MARKER, ExecResult

__all__ = ["CgroupCounters", "read_counters", "run_exec"]

DEFAULT_TIMEOUT_MS = 120_000
"""Timeout for a caller that passes none (``clawtop sandbox exec`` without ``--timeout-ms``, the
benches). The agent's ``exec`` tool always passes ``agents.defaults.sandbox.exec.timeoutSec``."""
DEFAULT_MAX_OUTPUT = 1_000_000
"""Output cap (both streams together) for a caller that passes none; the agent's ``exec`` tool
always passes ``agents.defaults.sandbox.exec.maxOutputBytes``."""
_WRAP = (
    '[ -n "$CLAWTOP_PREPEND_PATH" ] && PATH="$CLAWTOP_PREPEND_PATH:$PATH"; unset CLAWTOP_PREPEND_PATH; '
    'echo $$ > "$0" 2>/dev/null; exec "$@"'
)
"""PATH is never replaced (the image's tools must stay reachable): a caller's PATH is prepended."""


class _Capture:
    """Keeps stdout/stderr up to a byte budget shared by both; the rest is drained and dropped so
    the command is never blocked on a full pipe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False

    def add(self, chunk: bytes | None, into: bytearray) -> None:
        if not chunk:
            return
        room = self.limit - self.used
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[: max(room, 0)]
        into += chunk
        self.used += len(chunk)


def _pump(api: Any, exec_id: str, capture: _Capture) -> None:
    for out, err in api.exec_start(exec_id, stream=True, demux=True):
        capture.add(out, capture.out)
        capture.add(err, capture.err)


def _host_pid_belongs(pid: int, container_id: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup", encoding="ascii", errors="replace") as fh:
            return container_id in fh.read()
    except OSError:
        return False


def kill_exec(api: Any, container_id: str, exec_id: str, pidfile: str) -> None:
    """SIGKILL the exec's whole process group: from the host when we can see its pid, else by a
    ``kill`` run inside the container. Blocking."""
    pid = int(api.exec_inspect(exec_id).get("Pid") or 0)
    if pid > 0 and _host_pid_belongs(pid, container_id):
        for _ in range(20):  # a fork bomb forks while we kill: repeat until the group is gone
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            except PermissionError:
                break
            time.sleep(0.02)
    script = f'p=$(cat {pidfile} 2>/dev/null) && [ -n "$p" ] && kill -KILL -- -$p; kill -KILL $p 2>/dev/null; true'
    for _ in range(5):
        try:
            kid = api.exec_create(container_id, ["/bin/sh", "-c", script], user="")["Id"]
            api.exec_start(kid)
            return
        except Exception:  # noqa: BLE001 — pids exhausted: retry a little later
            time.sleep(0.2)


class CgroupCounters(dict[str, int]):
    """Kernel counters of a container cgroup: ``oom_kill`` and ``pids_max`` (times a fork was
    refused by the pids limit)."""


_V1 = {"oom_kill": "/sys/fs/cgroup/memory/{p}/memory.oom_control", "pids_max": "/sys/fs/cgroup/pids/{p}/pids.events"}
_V2 = {"oom_kill": "/sys/fs/cgroup/{p}/memory.events", "pids_max": "/sys/fs/cgroup/{p}/pids.events"}
_IN_CONTAINER = (
    "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events "
    "/sys/fs/cgroup/pids/pids.events /sys/fs/cgroup/pids.events 2>/dev/null; true"
)


def _parse_counters(text_oom: str, text_pids: str) -> CgroupCounters:
    out = CgroupCounters()
    for line in text_oom.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "oom_kill":
            out["oom_kill"] = int(parts[1])
    for line in text_pids.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "max":
            out["pids_max"] = int(parts[1])
    return out


def read_counters(api: Any, container_id: str) -> CgroupCounters:
    """Read the counters from the host cgroup tree (cheap) or, when it is not visible (remote or
    nested daemon), with a ``cat`` inside the container. Missing counters are simply absent."""
    for prefix in (f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"):
        for table in (_V1, _V2):
            try:
                with open(table["oom_kill"].format(p=prefix)) as a, open(table["pids_max"].format(p=prefix)) as b:
                    return _parse_counters(a.read(), b.read())
            except OSError:
                continue
    try:
        kid = api.exec_create(container_id, ["/bin/sh", "-c", _IN_CONTAINER])["Id"]
        text = api.exec_start(kid).decode(errors="replace")
    except Exception:  # noqa: BLE001 — counters are best effort
        return CgroupCounters()
    return _parse_counters(text, text)


async def run_exec(
    api: Any,
    container_id: str,
    argv: Sequence[str],
    *,
    workdir: str,
    env: dict[str, str],
    user: str | None = None,
    timeout_ms: int | None = None,
    max_output_bytes: int | None = None,
) -> tuple[ExecResult, CgroupCounters, CgroupCounters]:
    """Run ``argv`` and return the result with the cgroup counters before and after (the caller
    turns counter increases into limit-hit events)."""
    timeout = (timeout_ms or DEFAULT_TIMEOUT_MS) / 1000
    limit = max_output_bytes or DEFAULT_MAX_OUTPUT
    pidfile = f"/tmp/.clawtop-exec-{uuid.uuid4().hex[:12]}.pid"
    before = await asyncio.to_thread(read_counters, api, container_id)
    started = time.monotonic()
    kwargs: dict[str, Any] = {"workdir": workdir, "environment": [f"{k}={v}" for k, v in env.items()]}
    if user:
        kwargs["user"] = user
    command = ["/bin/sh", "-c", _WRAP, pidfile, *argv]
    exec_id = (await asyncio.to_thread(api.exec_create, container_id, command, **kwargs))["Id"]
    capture = _Capture(limit)
    pump = asyncio.ensure_future(asyncio.to_thread(_pump, api, exec_id, capture))
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(pump), timeout)
    except TimeoutError:
        timed_out = True
        await asyncio.to_thread(kill_exec, api, container_id, exec_id, pidfile)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), 10)
    info = await asyncio.to_thread(api.exec_inspect, exec_id)
    exit_code = info.get("ExitCode")
    after = await asyncio.to_thread(read_counters, api, container_id)
    if after.get("pids_max", 0) > before.get("pids_max", 0) and not timed_out:
        # The pids limit refused forks: whatever of this command is still alive (a fork bomb's
        # background shells) is killed so it cannot keep the sandbox saturated.
        await asyncio.to_thread(kill_exec, api, container_id, exec_id, pidfile)
    oom = exit_code == 137 and after.get("oom_kill", 0) > before.get("oom_kill", 0) and not timed_out
    if exit_code == 137 and "oom_kill" not in after and not timed_out:
        state = (await asyncio.to_thread(api.inspect_container, container_id)).get("State") or {}
        # no counter visible: fall back to the sticky flag (docs/design/sandbox.md#oom-detection)
        oom = bool(state.get("OOMKilled"))
    stdout = capture.out.decode(errors="replace")
    if capture.truncated:
        stdout += OUTPUT_MARKER.format(limit=limit)
    result = ExecResult(
        exit_code=exit_code,
        stdout=stdout,
        stderr=capture.err.decode(errors="replace"),
        truncated=capture.truncated,
        timed_out=timed_out,
        oom_killed=oom,
        duration_ms=(time.monotonic() - started) * 1000,
    )
    return result, before, after
