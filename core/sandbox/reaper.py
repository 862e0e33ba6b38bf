"""Killing everything one command started in a container, its whole tree, ``setsid`` or not
(docs/design/sandbox.md#killing-a-command).

``docker exec`` gives no handle on a command's descendants: a child that calls ``setsid`` leaves
the exec's process group, and once its parent exits it is re-parented to the container's init,
so neither the group nor the parent chain finds it. Two facts do:

- every command runs with the environment marker ``CLAWTOP_EXEC=<token>``, which its
  descendants inherit (``setsid`` does not touch the environment);
- a process that was not in the container before the command started and carries no marker of
  another command (its environment was cleared, say) can only come from this command.

The container's processes are listed from the host's cgroup tree (``cgroup.procs``, host pids),
or through ``docker top`` when that tree is not visible; each is killed from the host. When the
host cannot signal the container's pids (a remote daemon), a ``kill`` loop by marker runs inside
the container instead. Every step is blocking: callers run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

__all__ = ["MARKER_ENV", "container_pids", "kill_command", "kill_marked_host_processes"]

MARKER_ENV = "CLAWTOP_EXEC"
"""Environment variable carrying the token of the command a process belongs to."""

_PROCS = (
    "/sys/fs/cgroup/pids/{p}/cgroup.procs",  # cgroup v1
    "/sys/fs/cgroup/{p}/cgroup.procs",  # cgroup v2
)
_PREFIXES = ("docker/{id}", "system.slice/docker-{id}.scope")
_ROUNDS = 100
"""Kill rounds at most: a fork bomb forks while we kill, so repeat until a round finds nothing."""


def container_pids(api: Any, container_id: str) -> set[int] | None:
    """Host pids of every process in the container, or None when the host cannot see them."""
    for prefix in _PREFIXES:
        for pattern in _PROCS:
            try:
                with open(pattern.format(p=prefix.format(id=container_id)), encoding="ascii") as fh:
                    return {int(line) for line in fh if line.strip()}
            except (OSError, ValueError):
                continue
    try:
        top = api.top(container_id, ps_args="-o pid")
    except Exception:  # noqa: BLE001 — no ps on the daemon's host, or the container is gone
        return None
    pids = {int(row[0]) for row in top.get("Processes") or () if row and str(row[0]).isdigit()}
    # docker top answers in the daemon's pid namespace: usable only when those pids are ours.
    return pids if pids and all(_in_container(p, container_id) for p in pids) else None


def _in_container(pid: int, container_id: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup", encoding="ascii", errors="replace") as fh:
            return container_id in fh.read()
    except OSError:
        return False


def _marker(pid: int) -> str | None:
    """The ``CLAWTOP_EXEC`` token of a host pid; None without one (or unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = fh.read()
    except OSError:
        return None
    key = MARKER_ENV.encode() + b"="
    for item in env.split(b"\0"):
        if item.startswith(key):
            return item[len(key):].decode(errors="replace")
    return None


def _victims(pids: set[int], before: set[int] | None, token: str, keep: set[int]) -> list[int]:
    out = []
    for pid in pids - keep:
        mark = _marker(pid)
        if mark == token or (mark is None and before is not None and pid not in before):
            out.append(pid)
    return out


def _kill_from_host(api: Any, container_id: str, token: str, before: set[int] | None, keep: set[int]) -> bool:
    """Kill rounds from the host; False when the host cannot see or signal the container's pids."""
    for _ in range(_ROUNDS):
        pids = container_pids(api, container_id)
        if pids is None:
            return False
        victims = _victims(pids, before, token, keep)
        if not victims:
            return True
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            except PermissionError:
                return False
        time.sleep(0.01)
    return True


def _kill_inside(api: Any, container_id: str, token: str) -> None:
    # Inside the container pids are the container's own; the marker is the only way to tell
    # which processes are this command's.
    script = (
        f'for i in 1 2 3 4 5; do for d in /proc/[0-9]*; do '
        f'grep -qa "{MARKER_ENV}={token}" "$d/environ" 2>/dev/null && kill -KILL "${{d#/proc/}}" 2>/dev/null; '
        f'done; done; true'
    )
    for _ in range(5):
        try:
            kid = api.exec_create(container_id, ["/bin/sh", "-c", script])["Id"]
            api.exec_start(kid)
            return
        except Exception:  # noqa: BLE001 — pids exhausted: retry a little later
            time.sleep(0.2)


def kill_command(api: Any, container_id: str, exec_id: str, token: str, before: set[int] | None) -> None:
    """SIGKILL every process of one command: its process group first (cheap, and it stops a fork
    bomb's shells), then every process carrying its marker or new since ``before`` without a
    marker. ``before`` is :func:`container_pids` taken before the command started."""
    pid = int(api.exec_inspect(exec_id).get("Pid") or 0)
    if pid > 0 and _in_container(pid, container_id):
        for _ in range(20):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.01)
    keep: set[int] = set()
    with contextlib.suppress(Exception):
        state = api.inspect_container(container_id).get("State") or {}
        keep.add(int(state.get("Pid") or 0))  # the container's init: never a command's process
    if not _kill_from_host(api, container_id, token, before, keep):
        _kill_inside(api, container_id, token)


def kill_marked_host_processes(token: str) -> int:
    """SIGKILL every host process carrying ``token`` (the process fallback, whose commands are host
    processes: a ``setsid`` child leaves the killed process group but keeps the marker). Only
    processes this user may read are seen, which are the only ones it could start. Returns how many
    were killed."""
    killed = 0
    for _ in range(_ROUNDS):
        victims = [int(d) for d in os.listdir("/proc") if d.isdigit() and _marker(int(d)) == token]
        if not victims:
            break
        for pid in victims:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.01)
    return killed
