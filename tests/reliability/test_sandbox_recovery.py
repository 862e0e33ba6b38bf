"""A sandbox scope cannot be bricked: after a full tmpfs, a ``setsid`` survivor of a timeout or a
fork bomb, the next command in that scope works within 5 s, against a real Docker engine
(docs/design/sandbox.md#killing-a-command, docs/design/sandbox.md#recovering-an-unusable-container).

The image is the sandbox test image plus the host's ``setsid`` (at a path of its own, so it works
whether the base came from busybox or from host binaries) and a root-owned 0755 ``/tmp``,
``/var/tmp`` and ``/run``, as some images ship them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config.schema.sandbox import SandboxConfig
from core.sandbox import reaper
from core.sandbox.contract import ExecResult
from core.sandbox.docker_backend import DockerBackend
from core.sandbox.events import SandboxContainerRemoved, SandboxLimitHit
from core.sandbox.stats import cpu_percent
from tests.sandbox_support import busybox_image, docker_client, sandbox_prefix  # noqa: F401

pytestmark = pytest.mark.docker
SCOPE = "agent:main"
TOOLS = "/opt/clawtop-test"
SETSID = f"{TOOLS}/setsid"
RECOVERY_S = 5.0
"""The issue's bound: the next command in a scope works within 5 s of the bad one."""


def _libraries(binary: Path) -> list[Path]:
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    return [Path(p) for line in done.stdout.splitlines() for p in line.split() if p.startswith("/") and "(" not in p]


@pytest.fixture(scope="module")
def hostile_image(docker_client: Any, busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test image with ``setsid``, ``env`` and root-owned 0755 scratch directories."""
    ctx = tmp_path_factory.mktemp("hostile-image")
    root = ctx / "rootfs"
    for tool in ("setsid", "env"):
        found = shutil.which(tool)
        if found is None:
            pytest.fail(f"the host has no {tool} to copy into the test image")
        binary = Path(found)
        target = root / TOOLS.lstrip("/") / tool
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary.resolve(), target)
        for lib in _libraries(binary):
            dest = root / lib.relative_to("/")
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(lib.resolve(), dest)
    for scratch in ("tmp", "var/tmp", "run"):
        (root / scratch).mkdir(parents=True, exist_ok=True)
        os.chmod(root / scratch, 0o755)
    (ctx / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY rootfs/ /\nUSER 1000:1000\n")
    tag = "clawtop-sandbox-test:hostile"
    docker_client.images.build(path=str(ctx), tag=tag, rm=True, forcerm=True)
    yield tag


def _backend(prefix: str, image: str, tmp_path: Path, client: Any, events: list[Any], **docker: Any) -> DockerBackend:
    cfg = SandboxConfig.model_validate({
        "mode": "all",
        "docker": {"image": image, "containerPrefix": prefix, "pidsLimit": 64, "memory": "64m", **docker},
    })
    return DockerBackend(cfg, publish=events.append, state_dir=tmp_path / "state", client=client)


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def _next_exec_works(backend: DockerBackend, script: str = "echo alive") -> tuple[ExecResult, float]:
    started = time.monotonic()
    result = _run(backend.exec(SCOPE, ["sh", "-c", script], timeout_ms=10_000))
    took = time.monotonic() - started
    assert result.exit_code == 0 and result.stdout == "alive\n", result
    assert took < RECOVERY_S, took
    print(f"next exec after the bad one: {took:.2f} s")  # the figure for the note
    return result, took


def _processes(client: Any, name: str) -> list[str]:
    return [row[-1] for row in client.api.top(name)["Processes"]]


def test_scratch_dirs_are_writable_whatever_the_image(docker_client: Any, hostile_image: str, sandbox_prefix: str,
                                                      tmp_path: Path) -> None:
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, [])
    r = _run(backend.exec(SCOPE, ["sh", "-c", "id -u; for d in /tmp /var/tmp /run; do touch $d/w && echo ok; done"]))
    assert r.exit_code == 0 and r.stdout.split() == ["1000", "ok", "ok", "ok"] and r.stderr == "", r
    # noexec, as a plain --tmpfs has it: a file written there cannot be run.
    r = _run(backend.exec(SCOPE, ["sh", "-c", f"cat {SETSID} > /tmp/x; ls -l /tmp/x >/dev/null; /tmp/x true"]))
    assert r.exit_code == 126, r


def test_full_tmpfs_does_not_brick_the_scope(docker_client: Any, hostile_image: str, sandbox_prefix: str,
                                             tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, events)
    fill = "for d in /tmp /var/tmp /run /dev/shm; do head -c 200000000 /dev/zero > $d/big; done; echo filled"
    r = _run(backend.exec(SCOPE, ["sh", "-c", fill], timeout_ms=20_000))
    assert "No space left" in r.stderr and "filled" in r.stdout, r  # every mount is capped below memory
    _next_exec_works(backend)  # /tmp is full: the wrapper needs no room there
    _next_exec_works(backend, "rm -f /tmp/big && echo alive > /tmp/probe && cat /tmp/probe")


def test_a_tmpfs_larger_than_memory_is_recovered(docker_client: Any, hostile_image: str, sandbox_prefix: str,
                                                 tmp_path: Path) -> None:
    """An explicit tmpfsSize above the memory limit lets a fill pin all memory: the container is
    recreated at once, the result and an event say so, and the scope works again."""
    events: list[Any] = []
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, events, memory="32m", tmpfsSize="64m")
    first = docker_client.api.inspect_container(_run(backend.ensure(SCOPE)).name)["Id"]
    r = _run(backend.exec(SCOPE, ["sh", "-c", "head -c 60000000 /dev/zero > /tmp/big; echo done"], timeout_ms=20_000))
    assert r.exit_code == 137, r
    assert "was unusable" in r.stderr and "recreated" in r.stderr, r
    assert any(isinstance(e, SandboxContainerRemoved) and e.reason == "unusable" for e in events)
    assert docker_client.api.inspect_container(_run(backend.ensure(SCOPE)).name)["Id"] != first
    _next_exec_works(backend)


def test_setsid_survivor_of_a_timeout_is_killed(docker_client: Any, hostile_image: str, sandbox_prefix: str,
                                                tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, events)
    info = _run(backend.ensure(SCOPE))
    before = _processes(docker_client, info.name)
    # One child escapes with setsid, one more also clears its environment (no marker left).
    script = (f"{SETSID} sh -c 'while :; do :; done' & "
              f"{SETSID} {TOOLS}/env -i /bin/sh -c 'while :; do :; done' & sleep 100000")
    r = _run(backend.exec(SCOPE, ["sh", "-c", script], timeout_ms=1500))
    assert r.timed_out and r.exit_code == 137
    assert any(isinstance(e, SandboxLimitHit) and e.limit == "timeout" for e in events)
    assert _processes(docker_client, info.name) == before  # init and the keep-alive, nothing else
    _next_exec_works(backend)


def test_background_process_of_a_finished_command_is_left_alone(docker_client: Any, hostile_image: str,
                                                                 sandbox_prefix: str, tmp_path: Path) -> None:
    """Only a timeout kills: a command that ends normally may leave a daemon behind, and a later
    command's timeout does not take it."""
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, [])
    info = _run(backend.ensure(SCOPE))
    _run(backend.exec(SCOPE, ["sh", "-c", f"{SETSID} sleep 300 >/dev/null 2>&1 & echo started"]))
    r = _run(backend.exec(SCOPE, ["sh", "-c", "sleep 100"], timeout_ms=800))
    assert r.timed_out
    assert sum("sleep 300" in p for p in _processes(docker_client, info.name)) == 1


def test_fork_bomb_then_next_exec_within_5s(docker_client: Any, hostile_image: str, sandbox_prefix: str,
                                            tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, events, pidsLimit=32)
    info = _run(backend.ensure(SCOPE))
    before = _processes(docker_client, info.name)
    r = _run(backend.exec(SCOPE, ["sh", "-c", f"f(){{ {SETSID} sh -c 'sleep 1000' & f|f& }}; f; sleep 1000"],
                          timeout_ms=3000, max_output_bytes=4096))
    assert r.exit_code is not None
    assert any(isinstance(e, SandboxLimitHit) and e.limit in ("pids", "timeout") for e in events)
    _next_exec_works(backend)
    assert _processes(docker_client, info.name) == before


def test_cli_stats_shows_a_busy_loop_near_a_full_cpu(docker_client: Any, busybox_image: str, sandbox_prefix: str,
                                                     tmp_path: Path) -> None:
    """One frame has no CPU delta (a busy loop read ~3 % where ``docker stats`` said 99 %): the
    CLI waits for two. The reference is the daemon's own two-sample figure, taken right after, as
    the machine's load decides what share a busy loop gets."""
    backend = _backend(sandbox_prefix, busybox_image, tmp_path, docker_client, [])
    info = _run(backend.ensure(SCOPE))
    container = docker_client.api.exec_create(info.name, ["sh", "-c", "timeout 30 sh -c 'while :; do :; done'"])
    docker_client.api.exec_start(container["Id"], detach=True)
    config = tmp_path / "config.json5"
    config.write_text(json.dumps({"agents": {"defaults": {"sandbox": {
        "mode": "all", "docker": {"image": busybox_image, "containerPrefix": sandbox_prefix}}}}}))
    env = {**os.environ, "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    cmd = [sys.executable, "-m", "clawtop.cli", "--config", str(config), "sandbox", "stats", "--no-stream", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if info.name in line]
    reference = cpu_percent(docker_client.api.stats(info.name, stream=False))
    print(f"sandbox stats: {rows[0]['cpuPercent'] if rows else None} %, daemon two-sample: {reference:.1f} %")
    assert reference > 5 and rows and rows[0]["cpuPercent"] > reference / 2, (rows, reference)


def test_setsid_survivor_is_killed_from_inside_when_the_host_cannot_see_pids(
        docker_client: Any, hostile_image: str, sandbox_prefix: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote daemon: no host cgroup tree and no usable ``docker top``. The marker kill loop
    runs inside the container instead."""
    monkeypatch.setattr(reaper, "container_pids", lambda _api, _cid: None)
    backend = _backend(sandbox_prefix, hostile_image, tmp_path, docker_client, [])
    info = _run(backend.ensure(SCOPE))
    before = _processes(docker_client, info.name)
    r = _run(backend.exec(SCOPE, ["sh", "-c", f"{SETSID} sh -c 'while :; do :; done' & sleep 100000"],
                          timeout_ms=1500))
    assert r.timed_out and r.exit_code == 137
    assert _processes(docker_client, info.name) == before
    _next_exec_works(backend)
