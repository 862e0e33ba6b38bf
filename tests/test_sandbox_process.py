"""Process fallback backend (docs/design/sandbox.md#process-fallback): host subprocesses with rlimits, NOT ISOLATED."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.config.schema.sandbox import SandboxConfig
from core.events.kinds import LogMessage
from core.sandbox.api import OUTPUT_MARKER, Limits, SandboxBackend, SandboxDisabled, SandboxManager
from core.sandbox.events import SandboxExec, SandboxLimitHit, SandboxStats
from core.sandbox.process_backend import NOT_ISOLATED, ProcessBackend, proc_group_usage


def _backend(tmp_path: Path, **docker: Any) -> tuple[ProcessBackend, list[Any]]:
    events: list[Any] = []
    cfg = SandboxConfig.model_validate({"mode": "all", "backend": "process", "docker": docker})
    return ProcessBackend(cfg, publish=events.append, state_dir=tmp_path), events


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_protocol_and_not_isolated_labels(tmp_path: Path) -> None:
    backend, events = _backend(tmp_path)
    assert isinstance(backend, SandboxBackend)
    assert backend.isolated is False and NOT_ISOLATED in backend.name
    warning = [e for e in events if isinstance(e, LogMessage)]
    assert warning and NOT_ISOLATED in warning[0].message and "network isolation" in warning[0].message
    info = asyncio.run(backend.ensure("agent:main"))
    assert info.backend == "process" and info.isolated is False and NOT_ISOLATED in info.hardening
    assert info.limits == Limits(cpus=1.0, memory_bytes=1 << 30, memory_swap_bytes=1 << 30, pids_limit=256)


def test_exec_runs_in_workspace_with_scrubbed_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAWTOP_SECRET_LEAK", "x")
    backend, events = _backend(tmp_path, env={"FOO": "bar"})
    res = asyncio.run(backend.exec("agent:main", [
        "/bin/sh", "-c", "pwd; echo $HOME $FOO $LANG; echo ${CLAWTOP_SECRET_LEAK:-none}; echo err >&2; exit 3"]))
    ws = str(tmp_path / "sandboxes")
    lines = res.stdout.splitlines()
    assert lines[0].startswith(ws) and lines[1] == f"{lines[0]} bar C.UTF-8" and lines[2] == "none"
    assert res.stderr == "err\n" and res.exit_code == 3 and not res.timed_out and not res.truncated
    ex = [e for e in events if isinstance(e, SandboxExec)]
    assert len(ex) == 1 and ex[0].isolated is False and ex[0].argv0 == "sh" and ex[0].exit_code == 3
    assert all(e.isolated is False for e in events if hasattr(e, "isolated"))


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    backend, events = _backend(tmp_path)
    pidfile = tmp_path / "child.pid"

    async def run() -> Any:
        return await backend.exec("s", ["/bin/sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"], timeout_ms=500)

    t0 = time.monotonic()
    res = asyncio.run(run())
    assert time.monotonic() - t0 < 5
    assert res.timed_out and res.exit_code == 137
    child = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.02)
    assert not _alive(child), "background child of the timed-out command survived"
    hits = [e for e in events if isinstance(e, SandboxLimitHit)]
    assert hits and hits[0].limit == "timeout" and hits[0].isolated is False and NOT_ISOLATED in hits[0].detail


def test_timeout_kills_a_setsid_child_too(tmp_path: Path) -> None:
    """A child that left the process group with setsid is found by the command's marker."""
    backend, _events = _backend(tmp_path)
    pidfile = tmp_path / "escaped.pid"
    script = f"setsid /bin/sh -c 'echo $$ > {pidfile}; exec sleep 30' & sleep 30"

    async def run() -> Any:
        return await backend.exec("s", ["/bin/sh", "-c", script], timeout_ms=800)

    t0 = time.monotonic()
    res = asyncio.run(run())
    assert time.monotonic() - t0 < 5  # the escaped child holds the output pipes until it is killed
    assert res.timed_out and res.exit_code == 137
    escaped = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(escaped):
            break
        time.sleep(0.02)
    assert not _alive(escaped), "setsid child of the timed-out command survived"


def test_output_cap_uses_the_docker_marker(tmp_path: Path) -> None:
    backend, _ = _backend(tmp_path)
    res = asyncio.run(backend.exec("s", ["/bin/sh", "-c", "yes abcdefgh | head -c 200000"], max_output_bytes=1000))
    assert res.truncated and res.exit_code == 0
    assert res.stdout == "abcdefgh\n" * 111 + "a" + OUTPUT_MARKER.format(limit=1000)


def test_memory_rlimit_makes_a_hog_fail(tmp_path: Path) -> None:
    backend, _ = _backend(tmp_path, memory="64m")
    hog = [sys.executable, "-c", "b = bytearray(256 * 1024 * 1024); print('allocated')"]
    res = asyncio.run(backend.exec("s", hog, timeout_ms=20_000))
    assert res.exit_code != 0 and "allocated" not in res.stdout and "MemoryError" in res.stderr
    small = asyncio.run(backend.exec("s", ["/bin/sh", "-c", "echo ok"]))
    assert small.exit_code == 0 and small.stdout == "ok\n"


def test_rlimits_are_set_on_the_child(tmp_path: Path) -> None:
    """RLIMIT_NPROC counts every process of the user, so it is the user's count + pidsLimit."""
    backend, _ = _backend(tmp_path, pidsLimit=5, memory="64m", ulimits={"nofile": "100:200"})
    res = asyncio.run(backend.exec("s", ["/bin/cat", "/proc/self/limits"], timeout_ms=5000))
    rows = {line[:26].strip(): line[26:].split() for line in res.stdout.splitlines()[1:]}
    nproc = int(rows["Max processes"][0])
    assert 5 < nproc < 5 + 100_000 and rows["Max processes"][0] == rows["Max processes"][1]
    assert rows["Max address space"][:2] == [str(64 << 20)] * 2
    assert rows["Max open files"][:2] == ["100", "200"]
    assert rows["Max cpu time"][:2] == ["6", "7"]  # 5 s timeout x 1 core + 1


def test_update_limits_applies_to_next_command(tmp_path: Path) -> None:
    backend, _events = _backend(tmp_path)
    names = asyncio.run(backend.update_limits(None, Limits(memory_bytes=64 << 20)))
    assert backend.limits("any").memory_bytes == 64 << 20
    assert names == []  # no scope yet; overrides still apply
    res = asyncio.run(backend.exec("s", [sys.executable, "-c", "bytearray(256 << 20)"], timeout_ms=20_000))
    assert res.exit_code != 0


def test_stats_from_proc(tmp_path: Path) -> None:
    backend, _events = _backend(tmp_path)

    async def run() -> list[SandboxStats]:
        task = asyncio.create_task(backend.exec("s", ["/bin/sh", "-c", "while :; do :; done"], timeout_ms=1500))
        await asyncio.sleep(0.3)
        await backend.stats()
        await asyncio.sleep(0.6)
        second = await backend.stats()
        await task
        return second

    (stat,) = asyncio.run(run())
    assert stat.isolated is False and stat.pids >= 1 and stat.memory_bytes > 0
    assert stat.cpu_percent > 50, stat
    assert stat.memory_limit_bytes == 1 << 30 and stat.pids_limit == 256
    assert proc_group_usage(set()) == (0, 0, 0)


def test_manager_mode_off_and_process_choice(tmp_path: Path) -> None:
    off = SandboxManager({"mode": "off"}, publish=lambda e: None, state_dir=tmp_path)
    with pytest.raises(SandboxDisabled):
        asyncio.run(off.backend())
    on = SandboxManager({"mode": "all", "backend": "process"}, publish=lambda e: None, state_dir=tmp_path)
    backend = asyncio.run(on.backend())
    assert isinstance(backend, ProcessBackend) and backend.isolated is False


def test_missing_command_is_127(tmp_path: Path) -> None:
    backend, _ = _backend(tmp_path)
    res = asyncio.run(backend.exec("s", ["/nonexistent/tool", "x"]))
    assert res.exit_code == 127 and NOT_ISOLATED in res.stderr


async def test_exec_tool_limits_come_from_the_config_and_follow_a_reload(tmp_path: Path) -> None:
    """``agents.defaults.sandbox.exec``: the default timeout, the cap on a requested one and the
    output cap are read from the manager's config at every call."""
    from core.agent.tools import ToolContext, ToolError, Workspace, exec as exec_tool

    def manager_with(exec_limits: dict[str, int]) -> SandboxConfig:
        return SandboxConfig.model_validate({"mode": "all", "backend": "process", "exec": exec_limits})

    manager = SandboxManager(manager_with({"timeoutSec": 1, "maxTimeoutSec": 2, "maxOutputBytes": 1024}),
                             publish=lambda _e: None, state_dir=tmp_path)
    workspace = Workspace(tmp_path / "ws")
    context = ToolContext(session_key="agent:main:side", sandbox=manager)
    try:
        with pytest.raises(ToolError, match=r"timed out after 1 s"):
            await exec_tool.run(workspace, {"command": "sleep 5"}, context)
        started = time.monotonic()
        with pytest.raises(ToolError, match=r"timed out after 2 s"):  # 30 asked, capped at maxTimeoutSec
            await exec_tool.run(workspace, {"command": "sleep 5", "timeout": 30}, context)
        assert time.monotonic() - started < 4.5
        text = await exec_tool.run(workspace, {"command": "yes | head -c 5000"}, context)
        assert "[output truncated at 1024 bytes per stream]" in text
        manager.config = manager_with({"maxOutputBytes": 4096})  # what a reload does
        text = await exec_tool.run(workspace, {"command": "yes | head -c 5000"}, context)
        assert "[output truncated at 4096 bytes per stream]" in text
        assert "exit code: 0" in await exec_tool.run(workspace, {"command": "sleep 1.2"}, context)
    finally:
        await manager.close()


def test_exec_limits_are_validated() -> None:
    from pydantic import ValidationError

    assert SandboxConfig().exec.timeout_sec == 120 and SandboxConfig().exec.max_output_bytes == 65536
    with pytest.raises(ValidationError, match=r"maxTimeoutSec .* must be ≥ timeoutSec"):
        SandboxConfig.model_validate({"exec": {"timeoutSec": 60, "maxTimeoutSec": 30}})
