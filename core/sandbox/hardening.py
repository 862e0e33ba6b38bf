"""The exact ``containers.create`` parameters of a sandbox (docs/design/sandbox.md#create-parameters,
docs/design/sandbox.md#resource-flags, docs/design/sandbox.md#safer-default-limits) and a check that a created container
really carries them.

Kept as one pure function from config to kwargs so tests can compare it with the inspected
HostConfig, and so create-time security validation (docs/design/sandbox.md#security-defaults-and-blocked-settings,
second pass) sits next to the flags it guards.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

from core.config.schema.sandbox import (
    SandboxConfig,
    UlimitRange,
    effective_memory_swap,
    effective_tmpfs_size,
)
from core.config.schema.sizes import byte_size
from core.sandbox.contract import WEAK_TAG, Limits, SandboxError

__all__ = [
    "WEAK_TAG",
    "create_kwargs",
    "hardening_summary",
    "limits_of",
    "tmpfs_options",
    "unexpected_problems",
    "validate_binds_at_create",
    "verify_hardening",
]

_HOME_SECRETS = (".aws", ".cargo", ".config", ".docker", ".gnupg", ".netrc", ".npm", ".ssh")
TMPFS_OPTIONS = "rw,nosuid,nodev,noexec,mode=1777"
"""World-writable sticky tmpfs without setuid files (a privilege path) or executables (what a
plain ``--tmpfs`` gets from Docker). Size and owner are added per container."""


def limits_of(config: SandboxConfig) -> Limits:
    """Configured limits as numbers (``None`` = unlimited), after clawtop's defaults."""
    d = config.docker
    swap = effective_memory_swap(d)
    return Limits(
        cpus=None if d.cpus == "unlimited" else float(d.cpus),
        memory_bytes=None if d.memory == "unlimited" else byte_size(d.memory),
        memory_swap_bytes=None if swap in (None, "unlimited") else byte_size(swap),
        pids_limit=None if d.pids_limit == "unlimited" else int(d.pids_limit),
    )


def _ulimits(config: SandboxConfig) -> list[Any]:
    from docker.types import Ulimit  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

    out = []
    for name, value in config.docker.ulimits.items():
        if isinstance(value, UlimitRange):
            soft = value.soft if value.soft is not None else value.hard
            hard = value.hard if value.hard is not None else value.soft
        elif isinstance(value, str) and ":" in value:
            soft, hard = (int(p) for p in value.split(":"))
        else:
            soft = hard = int(value)
        out.append(Ulimit(name=name, soft=max(0, soft or 0), hard=max(0, hard or 0)))
    return out


def _gpus(value: str) -> list[Any]:
    from docker.types import DeviceRequest  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

    if value == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    ids = value.removeprefix("device=").split(",")
    return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]


def validate_binds_at_create(config: SandboxConfig, roots: list[Path]) -> None:
    """Second validation pass (docs/design/sandbox.md#security-defaults-and-blocked-settings): home secrets and
    symlink-resolved sources, which need the host. Raises :class:`SandboxError` naming the bind."""
    homes = {Path(os.path.expanduser("~")), Path(os.environ.get("HOME", "~")).expanduser()}
    blocked = [h / s for h in homes for s in _HOME_SECRETS]
    blocked += [Path(p) for p in ("/etc", "/proc", "/sys", "/dev", "/root", "/boot", "/run", "/var/run")]
    for bind in config.docker.binds:
        source = Path(bind.split(":")[0])
        real = Path(os.path.realpath(source))
        for b in blocked:
            if any(p == b or b in p.parents for p in (source, real)):
                raise SandboxError(f"sandbox.docker.binds: {bind!r} exposes {b}, which may not be mounted")
        if not config.docker.dangerously_allow_external_bind_sources and not any(
            p == r or r in p.parents for p in (real,) for r in (Path(os.path.realpath(x)) for x in roots)
        ):
            raise SandboxError(
                f"sandbox.docker.binds: {bind!r} is outside the sandbox workspace; "
                "set dangerouslyAllowExternalBindSources to allow it"
            )


def tmpfs_options(config: SandboxConfig, owner: tuple[int, int | None] | None) -> str:
    """Mount options of each tmpfs. ``owner`` (uid, gid) makes the mount's root the sandbox user's:
    the runtime gives the mount the mode of the image's own directory (a root-owned 0755 ``/tmp``
    stays 0755 despite ``mode=1777``), so only ownership makes it writable whatever the image."""
    opts = f"{TMPFS_OPTIONS},size={effective_tmpfs_size(config.docker)}"
    if owner is not None:
        uid, gid = owner
        opts += f",uid={uid}" + (f",gid={gid}" if gid is not None else "")
    return opts


def create_kwargs(
    config: SandboxConfig, *, name: str, labels: dict[str, str], workspace: Path, user: str | None,
    tmpfs_owner: tuple[int, int | None] | None = None,
) -> dict[str, Any]:
    """``docker.containers.create`` kwargs, in the order of docs/design/sandbox.md#create-parameters (dicts keep it).
    ``tmpfs_owner`` is the numeric (uid, gid) the sandbox user runs as, when known."""
    d = config.docker
    limits = limits_of(config)
    mode = "rw" if config.workspace_access == "rw" else "ro"
    security_opt = ["no-new-privileges"]
    if d.seccomp_profile:
        security_opt.append(f"seccomp={d.seccomp_profile}")
    if d.apparmor_profile:
        security_opt.append(f"apparmor={d.apparmor_profile}")
    env = {k: v for k, v in d.env.items() if "\x00" not in v}
    env["CLAWTOP_SANDBOX"] = "1"
    kwargs: dict[str, Any] = {
        "name": name,
        "init": True,
        "labels": labels,
        "read_only": d.read_only_root,
        "tmpfs": {posixpath.normpath(p): tmpfs_options(config, tmpfs_owner) for p in d.tmpfs},
        "shm_size": effective_tmpfs_size(d),
        "network_mode": d.network,
        "environment": [f"{k}={v}" for k, v in env.items()],
        "cap_drop": list(d.cap_drop),
        "security_opt": security_opt,
        "working_dir": d.workdir,
        "volumes": [f"{workspace}:{d.workdir}:{mode}", *d.binds],
        "command": ["sleep", "infinity"],
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
    if user:
        kwargs["user"] = user
    if d.dns:
        kwargs["dns"] = [s for s in d.dns if s.strip()]
    if d.extra_hosts:
        kwargs["extra_hosts"] = [s for s in d.extra_hosts if s.strip()]
    kwargs["pids_limit"] = limits.pids_limit if limits.pids_limit is not None else -1
    if limits.memory_bytes is not None:
        kwargs["mem_limit"] = limits.memory_bytes
        kwargs["memswap_limit"] = limits.memory_swap_bytes if limits.memory_swap_bytes is not None else -1
    if limits.cpus is not None:
        kwargs["nano_cpus"] = int(limits.cpus * 1_000_000_000)
    if d.gpus:
        kwargs["device_requests"] = _gpus(d.gpus)
    if d.ulimits:
        kwargs["ulimits"] = _ulimits(config)
    return kwargs


def _is_root(user: str) -> bool:
    name = user.split(":")[0]
    return name in ("", "0", "root")


def verify_hardening(inspect: dict[str, Any], limits: Limits | None = None) -> list[str]:
    """Problems found in a container's ``docker inspect`` output (empty = hardened as configured)."""
    host = inspect.get("HostConfig") or {}
    cfg = inspect.get("Config") or {}
    problems = []
    if not host.get("ReadonlyRootfs"):
        problems.append("root filesystem is writable (ReadonlyRootfs false)")
    if host.get("NetworkMode") != "none":
        problems.append(f"network is {host.get('NetworkMode')!r}, not 'none'")
    if "ALL" not in [c.upper() for c in host.get("CapDrop") or []]:
        problems.append("capabilities not dropped (CapDrop lacks ALL)")
    if host.get("CapAdd"):
        problems.append(f"capabilities added: {host['CapAdd']}")
    if not any(o.startswith("no-new-privileges") for o in host.get("SecurityOpt") or []):
        problems.append("no-new-privileges not set")
    if host.get("Privileged"):
        problems.append("container is privileged")
    if not host.get("Init"):
        problems.append("no init process (--init)")
    if _is_root(str(cfg.get("User") or "")):
        problems.append(f"runs as root (User={cfg.get('User')!r})")
    if limits is not None:
        expect = {
            "PidsLimit": limits.pids_limit,
            "Memory": limits.memory_bytes,
            "MemorySwap": limits.memory_swap_bytes if limits.memory_bytes is not None else None,
            "NanoCpus": int(limits.cpus * 1e9) if limits.cpus is not None else None,
        }
        for key, want in expect.items():
            if want is not None and host.get(key) != want:
                problems.append(f"{key} is {host.get(key)!r}, expected {want}")
    return problems


def unexpected_problems(config: SandboxConfig, inspect: dict[str, Any]) -> list[str]:
    """What :func:`verify_hardening` finds in a freshly created container beyond what the config
    chose: a network other than ``none`` is the user's (validated) choice, and the weakenings
    ``dangerouslyAllowWeakHardening`` permits are expected under it. Anything left means the
    container does not carry the protections asked for (a root image ``USER``, say)."""
    allowed = {"network"}
    if config.docker.dangerously_allow_weak_hardening:
        allowed |= {"root filesystem", "capabilities", "runs as root"}
    return [p for p in verify_hardening(inspect, limits_of(config))
            if not any(p.startswith(a) for a in allowed)]


def hardening_summary(inspect: dict[str, Any]) -> tuple[str, ...]:
    """Short tags of the protections a container has, for ``ContainerInfo.hardening``; ``WEAK``
    first (with what is missing) when it lacks root-user, capability or read-only-root hardening,
    which only ``dangerouslyAllowWeakHardening`` allows."""
    host = inspect.get("HostConfig") or {}
    cfg = inspect.get("Config") or {}
    tags = []
    weak = []
    if _is_root(str(cfg.get("User") or "")):
        weak.append("root")
    if "ALL" not in [c.upper() for c in host.get("CapDrop") or []] or host.get("CapAdd"):
        weak.append("caps")
    if not host.get("ReadonlyRootfs"):
        weak.append("rw-root")
    if weak:
        tags.append(f"{WEAK_TAG}:" + ",".join(weak))
    if host.get("ReadonlyRootfs"):
        tags.append("read-only-root")
    tags.append(f"network={host.get('NetworkMode')}")
    if host.get("CapDrop"):
        tags.append("cap-drop=" + ",".join(host["CapDrop"]))
    if any(o.startswith("no-new-privileges") for o in host.get("SecurityOpt") or []):
        tags.append("no-new-privileges")
    if host.get("Init"):
        tags.append("init")
    if not _is_root(str(cfg.get("User") or "")):
        tags.append(f"user={cfg.get('User')}")
    return tuple(tags)
