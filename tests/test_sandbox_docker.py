"""The Docker sandbox backend against a real engine: hardening (inspect and behaviour), lifecycle,
exec limits and the limits of the container (pids, memory, cpu), plus the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.config.schema.sandbox import SandboxConfig
from core.sandbox.api import SandboxImageMissing
from core.sandbox.docker_backend import DockerBackend
from core.sandbox.events import (
    SandboxContainerCreated,
    SandboxContainerRecreated,
    SandboxContainerReused,
    SandboxExec,
    SandboxLimitHit,
)
from core.sandbox.hardening import limits_of, verify_hardening
from core.sandbox.naming import container_name
from tests.sandbox_support import busybox_image, docker_client, sandbox_prefix  # noqa: F401

pytestmark = pytest.mark.docker
SCOPE = "agent:main"


def _config(prefix: str, image: str, **docker: Any) -> SandboxConfig:
    return SandboxConfig.model_validate({
        "mode": "all",
        "docker": {"image": image, "containerPrefix": prefix, "pidsLimit": 64, "memory": "64m", **docker},
    })


def _backend(cfg: SandboxConfig, tmp_path: Path, client: Any, events: list[Any]) -> DockerBackend:
    return DockerBackend(cfg, publish=events.append, state_dir=tmp_path / "state", client=client)


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_hardening_inspect_and_behaviour(docker_client: Any, busybox_image: str, sandbox_prefix: str,
                                         tmp_path: Path) -> None:
    events: list[Any] = []
    cfg = _config(sandbox_prefix, busybox_image)
    backend = _backend(cfg, tmp_path, docker_client, events)
    info = _run(backend.ensure(SCOPE))
    attrs = docker_client.api.inspect_container(info.name)
    assert verify_hardening(attrs, limits_of(cfg)) == []
    host = attrs["HostConfig"]
    assert host["PidsLimit"] == 64 and host["Memory"] == host["MemorySwap"] == 64 * 2**20
    assert host["NanoCpus"] == 1_000_000_000 and host["Init"] is True
    labels = attrs["Config"]["Labels"]
    assert labels["clawtop.sandbox"] == "1" and labels["clawtop.sessionKey"] == SCOPE
    assert info.name == container_name(sandbox_prefix, SCOPE)
    script = ("id -u; touch /x 2>/dev/null && echo ROOT_WRITABLE; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; "
              "ls /sys/class/net; wget -q -T 2 -O- http://1.1.1.1 >/dev/null 2>&1 && echo NET_OK; "
              "touch /tmp/ok && echo TMP_OK")
    r = _run(backend.exec(SCOPE, ["sh", "-c", script]))
    lines = r.stdout.split()
    assert lines[0] != "0" and "ROOT_WRITABLE" not in lines and "NET_OK" not in lines
    assert "CapEff:" in lines and lines[lines.index("CapEff:") + 1] == "0000000000000000"
    assert lines[lines.index("NoNewPrivs:") + 1] == "1"
    assert "lo" in lines and "eth0" not in lines and "TMP_OK" in lines
    assert any(isinstance(e, SandboxExec) and e.exit_code == 0 for e in events)


def test_reuse_setup_once_and_drift(docker_client: Any, busybox_image: str, sandbox_prefix: str,
                                    tmp_path: Path) -> None:
    events: list[Any] = []
    cfg = _config(sandbox_prefix, busybox_image, setupCommand="echo x >> /tmp/setup-count")
    backend = _backend(cfg, tmp_path, docker_client, events)
    first = _run(backend.ensure(SCOPE))
    again = _run(_backend(cfg, tmp_path, docker_client, events).ensure(SCOPE))
    assert again.name == first.name and docker_client.api.inspect_container(first.name)["Id"]
    r = _run(backend.exec(SCOPE, ["sh", "-c", "wc -l < /tmp/setup-count"]))
    assert r.stdout.strip() == "1"
    assert sum(isinstance(e, SandboxContainerCreated) for e in events) == 1
    assert any(isinstance(e, SandboxContainerReused) for e in events)
    # Drift while recently used: kept, and said so.
    changed = _config(sandbox_prefix, busybox_image, setupCommand="echo x >> /tmp/setup-count", pidsLimit=48)
    drifted = _backend(changed, tmp_path, docker_client, events)
    kept = _run(drifted.ensure(SCOPE))
    assert kept.config_hash == first.config_hash and kept.limits.pids_limit == 64
    assert any(isinstance(e, SandboxContainerReused) and e.drift_kept and "Recreate" in e.note for e in events)
    # Drift when idle (> 5 min): recreated with the new limits.
    reg = drifted.registry
    reg._entries[first.name]["lastUsedAtMs"] = int((time.time() - 600) * 1000)
    fresh = _run(drifted.ensure(SCOPE))
    assert fresh.config_hash != first.config_hash and fresh.limits.pids_limit == 48
    assert any(isinstance(e, SandboxContainerRecreated) for e in events)


def test_exec_workdir_env_timeout_and_output_cap(docker_client: Any, busybox_image: str, sandbox_prefix: str,
                                                 tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(_config(sandbox_prefix, busybox_image), tmp_path, docker_client, events)
    r = _run(backend.exec(SCOPE, ["sh", "-c", "pwd; echo $FOO; exit 3"], workdir="/tmp", env={"FOO": "bar"}))
    assert (r.exit_code, r.stdout) == (3, "/tmp\nbar\n")
    started = time.monotonic()
    r = _run(backend.exec(SCOPE, ["sh", "-c", "sleep 30 & sleep 30"], timeout_ms=800))
    assert r.timed_out and r.exit_code == 137 and time.monotonic() - started < 10
    ps = _run(backend.exec(SCOPE, ["ps", "-o", "comm"]))
    assert ps.stdout.count("sleep") == 1  # only the keep-alive; the killed group is gone
    assert any(isinstance(e, SandboxLimitHit) and e.limit == "timeout" for e in events)
    r = _run(backend.exec(SCOPE, ["sh", "-c", "yes | head -c 100000"], max_output_bytes=1000))
    assert r.truncated and r.exit_code == 0 and "[output truncated at 1000 bytes]" in r.stdout
    assert len(r.stdout.encode()) < 1100


def test_fork_bomb_stopped_by_pids_limit(docker_client: Any, busybox_image: str, sandbox_prefix: str,
                                         tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(_config(sandbox_prefix, busybox_image, pidsLimit=32), tmp_path, docker_client, events)
    r = _run(backend.exec(SCOPE, ["sh", "-c", "f(){ f|f& }; f; sleep 2"], timeout_ms=5000, max_output_bytes=4096))
    assert r.exit_code is not None
    assert any(isinstance(e, SandboxLimitHit) and e.limit == "pids" for e in events)
    after = _run(backend.exec(SCOPE, ["echo", "alive"], timeout_ms=10000))
    assert after.stdout == "alive\n"


def test_memory_hog_oom_killed(docker_client: Any, busybox_image: str, sandbox_prefix: str, tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(_config(sandbox_prefix, busybox_image, memory="32m"), tmp_path, docker_client, events)
    r = _run(backend.exec(SCOPE, ["sh", "-c", "x=a; while :; do x=$x$x; done"], timeout_ms=30000))
    assert r.exit_code == 137 and r.oom_killed and not r.timed_out
    assert "memory limit hit" in r.stderr
    assert any(isinstance(e, SandboxLimitHit) and e.limit == "memory" for e in events)
    assert _run(backend.exec(SCOPE, ["echo", "ok"])).stdout == "ok\n"


def test_cpu_hog_throttled(docker_client: Any, busybox_image: str, sandbox_prefix: str, tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(_config(sandbox_prefix, busybox_image, cpus=0.2), tmp_path, docker_client, events)
    info = _run(backend.ensure(SCOPE))
    _run(backend.exec(SCOPE, ["sh", "-c", "timeout 2 sh -c 'while :; do :; done'; true"], timeout_ms=10000))
    stats = docker_client.api.stats(info.name, stream=False)
    throttling = stats["cpu_stats"]["throttling_data"]
    assert throttling["throttled_periods"] > 0 and throttling["throttled_time"] > 0


def test_prune_and_missing_image(docker_client: Any, busybox_image: str, sandbox_prefix: str, tmp_path: Path) -> None:
    events: list[Any] = []
    backend = _backend(_config(sandbox_prefix, busybox_image), tmp_path, docker_client, events)
    info = _run(backend.ensure("session:a"))
    assert _run(backend.prune()) == []  # fresh: neither idle nor old
    backend.registry._entries[info.name]["lastUsedAtMs"] = int((time.time() - 25 * 3600) * 1000)
    assert _run(backend.prune()) == [info.name]
    assert not any(i.name == info.name for i in _run(backend.list()))
    missing = _backend(_config(sandbox_prefix, "clawtop-no-such-image:nope"), tmp_path, docker_client, events)
    with pytest.raises(SandboxImageMissing, match="clawtop sandbox build"):
        _run(missing.ensure(SCOPE))


def test_cli_ls_and_exec(docker_client: Any, busybox_image: str, sandbox_prefix: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text(json.dumps({"agents": {"defaults": {"sandbox": {
        "mode": "all", "docker": {"image": busybox_image, "containerPrefix": sandbox_prefix}}}}}))
    env = {**os.environ, "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    cmd = [sys.executable, "-m", "clawtop.cli", "--config", str(config), "sandbox"]
    out = subprocess.run([*cmd, "exec", SCOPE, "--", "echo", "hi"], capture_output=True, text=True, env=env, timeout=60)
    assert (out.returncode, out.stdout) == (0, "hi\n"), out.stderr
    out = subprocess.run([*cmd, "ls", "--json"], capture_output=True, text=True, env=env, timeout=60)
    rows = [r for r in json.loads(out.stdout) if r["name"].startswith(sandbox_prefix)]
    assert len(rows) == 1 and rows[0]["scopeKey"] == SCOPE and rows[0]["isolated"] is True
    out = subprocess.run([*cmd, "stats", "--no-stream", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    stats = [json.loads(line) for line in out.stdout.splitlines() if sandbox_prefix in line]
    assert stats and {"cpuPercent", "memoryBytes", "memoryLimitBytes", "pids", "pidsLimit"} <= set(stats[0])
