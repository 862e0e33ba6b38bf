"""Sandbox config rules that need no Docker: weak hardening refused unless opted out (and then
tagged), tmpfs sizes and options, the stats CPU figure of a first frame, and ``sandbox exec``
option parsing through the real CLI (process backend)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.config.schema.sandbox import SandboxConfig, SandboxDockerConfig, effective_tmpfs_size
from core.sandbox.hardening import WEAK_TAG, create_kwargs, hardening_summary, unexpected_problems
from core.sandbox.stats import cpu_percent
from tests.test_sandbox_stats import V1

WEAK = {"user": "0:0", "capDrop": [], "readOnlyRoot": False}


def _write(tmp_path: Path, docker: dict[str, Any], **sandbox: Any) -> Path:
    path = tmp_path / "config.json5"
    path.write_text(json.dumps({"agents": {"defaults": {"sandbox": {"docker": docker, **sandbox}}}}))
    return path


def _cli(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "clawtop.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_weak_hardening_is_refused_key_by_key() -> None:
    with pytest.raises(ValidationError) as info:
        SandboxDockerConfig.model_validate(WEAK)
    errors = {e["loc"][-1]: e["msg"] for e in info.value.errors()}
    assert set(errors) == {"user", "capDrop", "readOnlyRoot"}
    assert all("dangerouslyAllowWeakHardening" in m for m in errors.values())
    for key, value in (("user", "root"), ("user", "0"), ("user", "root:root"), ("capDrop", ["NET_RAW"])):
        with pytest.raises(ValidationError, match="dangerouslyAllowWeakHardening"):
            SandboxDockerConfig.model_validate({key: value})
    # Not weak: a non-root user, ALL in any case among others.
    SandboxDockerConfig.model_validate({"user": "1000:1000", "capDrop": ["all", "NET_RAW"]})
    SandboxDockerConfig.model_validate({**WEAK, "dangerouslyAllowWeakHardening": True})


def test_weak_hardening_exits_78_from_config_validate(tmp_path: Path) -> None:
    out = _cli(tmp_path, "config", "validate", str(_write(tmp_path, WEAK)))
    assert out.returncode == 78 and "Traceback" not in out.stderr
    for key in ("docker.user", "docker.capDrop", "docker.readOnlyRoot"):
        assert f"agents.defaults.sandbox.{key}" in out.stdout + out.stderr
    out = _cli(tmp_path, "config", "validate", str(_write(tmp_path, {**WEAK, "dangerouslyAllowWeakHardening": True})))
    assert out.returncode == 0, out.stdout + out.stderr


def _inspect(user: str, cap_drop: list[str], read_only: bool) -> dict[str, Any]:
    return {"Config": {"User": user}, "HostConfig": {
        "ReadonlyRootfs": read_only, "NetworkMode": "none", "CapDrop": cap_drop, "SecurityOpt": ["no-new-privileges"],
        "Init": True, "PidsLimit": 256, "Memory": 1 << 30, "MemorySwap": 1 << 30, "NanoCpus": 1_000_000_000}}


def test_weak_container_is_tagged_and_unexpected_weakness_is_found() -> None:
    weak = _inspect("0:0", [], False)
    assert hardening_summary(weak)[0] == f"{WEAK_TAG}:root,caps,rw-root"
    assert not any(t.startswith(WEAK_TAG) for t in hardening_summary(_inspect("1000:1000", ["ALL"], True)))
    allowed = SandboxConfig.model_validate({"docker": {**WEAK, "dangerouslyAllowWeakHardening": True}})
    assert unexpected_problems(allowed, weak) == []
    # A root image USER with the default config: the container is not what was asked for.
    strict = SandboxConfig()
    assert [p for p in unexpected_problems(strict, _inspect("", ["ALL"], True)) if "root" in p]
    assert unexpected_problems(strict, _inspect("1000", ["ALL"], True)) == []


def test_tmpfs_sizes_and_options(tmp_path: Path) -> None:
    default = SandboxConfig()
    assert effective_tmpfs_size(default.docker) == 64 << 20  # Docker's own, well under 1g
    small = SandboxConfig.model_validate({"docker": {"memory": "64m"}})
    assert effective_tmpfs_size(small.docker) == (64 << 20) // 8  # 3 mounts + /dev/shm fill half of memory
    explicit = SandboxConfig.model_validate({"docker": {"memory": "32m", "tmpfsSize": "64m"}})
    assert effective_tmpfs_size(explicit.docker) == 64 << 20  # explicit is honoured as written
    assert effective_tmpfs_size(SandboxConfig.model_validate({"docker": {"memory": "unlimited"}}).docker) == 64 << 20
    for bad in ("512k", "unlimited", -1, True, "lots"):
        with pytest.raises(ValidationError):
            SandboxDockerConfig.model_validate({"tmpfsSize": bad})
    kwargs = create_kwargs(small, name="n", labels={}, workspace=tmp_path, user="1000:1000", tmpfs_owner=(1000, 100))
    assert kwargs["tmpfs"]["/tmp"] == f"rw,nosuid,nodev,noexec,mode=1777,size={8 << 20},uid=1000,gid=100"
    assert kwargs["shm_size"] == 8 << 20 and set(kwargs["tmpfs"]) == {"/tmp", "/var/tmp", "/run"}
    unowned = create_kwargs(small, name="n", labels={}, workspace=tmp_path, user=None)
    assert "uid=" not in unowned["tmpfs"]["/run"] and "noexec" in unowned["tmpfs"]["/run"]


def test_first_stream_frame_has_no_cpu_figure() -> None:
    first = copy.deepcopy(V1)
    first["precpu_stats"] = {"cpu_usage": {"total_usage": 0}}  # what a stream's first frame carries
    assert cpu_percent(first) == 0.0
    assert cpu_percent(V1) > 0


def test_exec_options_anywhere_before_the_separator(tmp_path: Path) -> None:
    config = str(_write(tmp_path, {}, backend="process"))
    base = ["--config", config, "sandbox", "exec"]
    out = _cli(tmp_path, *base, "agent:main", "--max-output", "2000", "--", "sh", "-c", "echo hi; echo --timeout-ms")
    assert (out.returncode, out.stdout) == (0, "hi\n--timeout-ms\n"), out.stderr
    started = time.monotonic()
    out = _cli(tmp_path, *base, "agent:main", "--timeout-ms", "500", "--", "sh", "-c", "sleep 20")
    assert out.returncode == 137 and time.monotonic() - started < 15, out.stderr
    out = _cli(tmp_path, *base, "--timeout-ms", "500", "agent:main", "--", "echo", "before")
    assert (out.returncode, out.stdout) == (0, "before\n"), out.stderr
    out = _cli(tmp_path, *base, "agent:main", "--bogus", "--", "echo", "x")
    assert out.returncode == 2 and "--bogus" in out.stderr and "Traceback" not in out.stderr
    out = _cli(tmp_path, *base, "agent:main", "echo", "no-separator")
    assert (out.returncode, out.stdout) == (0, "no-separator\n"), out.stderr
