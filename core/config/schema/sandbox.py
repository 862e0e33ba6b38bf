"""``agents.defaults.sandbox``: where tool commands run and with which limits (docs/design/sandbox.md).

Key names are OpenClaw's (docs/design/sandbox.md#settings). clawtop's differences
(docs/design/sandbox.md#clawtop-goes-further): safer resource defaults (``pidsLimit`` 256, ``memory`` ``"1g"``, swap =
memory, ``cpus`` 1.0) with ``"unlimited"`` as the per-key opt-out; its own image, prefix and workspace root so
OpenClaw's containers are never touched; a ``process`` backend (NOT ISOLATED) used as a fallback when no Docker daemon
answers.

Validation that needs no filesystem runs here, at load (docs/design/sandbox.md#security-defaults-and-blocked-settings
"validation runs twice"): blocked network modes, ``unconfined`` profiles, bind syntax, ``/`` and system directories as
bind sources, reserved bind targets, memory formats and ``memorySwap ≥ memory``. Checks that need the
host (home-directory secrets, realpath of symlinks, sources outside the workspace roots) run again
when the container is created.
"""

from __future__ import annotations

import posixpath
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from core.config.schema.base import NonEmptyStr, StrictModel, raise_at
from core.config.schema.reload import Reload, reload
from core.config.schema.sandbox_limits import CpuLimit, MemoryLimit, PidsLimit, SetupCommand, UlimitRange, UlimitValue
from core.config.schema.sizes import byte_size

__all__ = [
    "BLOCKED_BIND_SOURCES",
    "RESERVED_CONTAINER_TARGETS",
    "SandboxConfig",
    "SandboxDockerConfig",
    "SandboxExecConfig",
    "SandboxPruneConfig",
    "UlimitRange",
    "effective_memory_swap",
]

BLOCKED_BIND_SOURCES: tuple[str, ...] = (
    "/etc",
    "/private/etc",
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/boot",
    "/run",
    "/var/run",
    "/private/var/run",
    "/var/run/docker.sock",
    "/run/docker.sock",
)
"""Host paths that may not be bind-mounted, nor anything under them
(docs/design/sandbox.md#security-defaults-and-blocked-settings). The home-directory secrets (``~/.ssh``, ``~/.aws`` …)
are checked at create time."""

RESERVED_CONTAINER_TARGETS: tuple[str, ...] = ("/workspace", "/agent")
"""Container paths managed by clawtop; binds onto them need ``dangerouslyAllowReservedContainerTargets``."""

_BIND_MODES = frozenset({"ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate", "nocopy"})
"""The options Docker accepts after the second colon of a bind (comma-separated)."""


_LIVE_LIMIT = reload(Reload.DOCKER_UPDATE, "docker-update")
"""Resource limits a running container takes in place; the rest of ``sandbox`` is drift."""


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class SandboxDockerConfig(StrictModel):
    """``sandbox.docker``: the container and its ``docker create`` flags (docs/design/sandbox.md#docker-keys,
    docs/design/sandbox.md#safer-default-limits)."""

    image: NonEmptyStr = "clawtop-sandbox:bookworm-slim"
    """Image to run; build the default with ``clawtop sandbox build``. Default
    ``clawtop-sandbox:bookworm-slim``."""

    container_prefix: str = Field("clawtop-sbx-", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)
    """Container name prefix; distinct from OpenClaw's ``openclaw-sbx-`` so neither product
    touches the other's containers. Default ``clawtop-sbx-``."""

    workdir: str = "/workspace"
    """Working directory inside the container and the workspace mount target. Default
    ``/workspace``."""

    read_only_root: bool = True
    """``--read-only``: the root filesystem is read-only; writes go to tmpfs and the workspace.
    Default true."""

    tmpfs: list[str] = Field(default_factory=lambda: ["/tmp", "/var/tmp", "/run"])
    """``--tmpfs`` mounts (writable, in memory). Default ``["/tmp", "/var/tmp", "/run"]``."""

    network: NonEmptyStr = "none"
    """``--network``: ``none`` = loopback only. ``host`` is always rejected;
    ``container:<id>`` needs ``dangerouslyAllowContainerNamespaceJoin``. Default ``none``."""

    user: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
    """``--user`` as ``uid:gid`` (or a name); unset = the owner of the host workspace directory,
    so files written in the sandbox stay the user's. Default unset."""

    cap_drop: list[str] = Field(default_factory=lambda: ["ALL"])
    """``--cap-drop`` capabilities removed. Default ``["ALL"]``."""

    env: dict[str, str] = Field(default_factory=lambda: {"LANG": "C.UTF-8"})
    """Environment inside the sandbox (the host environment is never inherited). Values are
    visible through ``docker inspect``: do not put secrets here. Default ``{LANG: "C.UTF-8"}``."""

    setup_command: SetupCommand | None = None
    """Shell command run once after the container is created (a list is joined with newlines),
    e.g. to install packages. Default unset."""

    pids_limit: PidsLimit = Field(256, json_schema_extra=_LIVE_LIMIT)
    """``--pids-limit``: processes plus threads, stops fork bombs; ``"unlimited"`` →
    ``--pids-limit -1``. Default 256 (OpenClaw sets none)."""

    memory: MemoryLimit = Field("1g", json_schema_extra=_LIVE_LIMIT)
    """``--memory`` hard limit (``"512m"``, ``"1g"``, bytes; ≥ ``6m``); exceeding it OOM-kills
    inside the container. ``"unlimited"`` omits the flag. Default ``"1g"``."""

    memory_swap: MemoryLimit | None = Field(None, json_schema_extra=_LIVE_LIMIT)
    """``--memory-swap`` = memory plus swap, ≥ ``memory``; ``"unlimited"`` → ``-1``. Unset =
    equal to ``memory`` (no swap). Default unset."""

    cpus: CpuLimit = Field(1.0, json_schema_extra=_LIVE_LIMIT)
    """``--cpus`` CFS ceiling in cores (not a reservation); ``"unlimited"`` omits the flag.
    Default 1.0."""

    gpus: NonEmptyStr | None = None
    """``--gpus`` (``all``, ``device=GPU-uuid``). Default unset."""

    ulimits: dict[str, UlimitValue] = Field(default_factory=dict)
    """``--ulimit`` per name (``nofile``, ``nproc``, ``fsize``, ``cpu`` …): a number,
    ``"soft:hard"``, or ``{soft, hard}``. Default {}."""

    seccomp_profile: NonEmptyStr | None = None
    """``--security-opt seccomp=<path>``; ``unconfined`` is rejected. Default unset (Docker's
    default profile)."""

    apparmor_profile: NonEmptyStr | None = None
    """``--security-opt apparmor=<name>``; ``unconfined`` is rejected. Default unset."""

    dns: list[str] = Field(default_factory=list)
    """``--dns`` servers. Default [] (Docker's)."""

    extra_hosts: list[str] = Field(default_factory=list)
    """``--add-host`` entries (``host:ip``). Default []."""

    binds: list[str] = Field(default_factory=list)
    """Extra ``-v host:container[:mode]`` mounts with absolute host paths. System directories
    are refused; sources outside the workspace roots need
    ``dangerouslyAllowExternalBindSources``. Default []."""

    dangerously_allow_reserved_container_targets: bool = False
    """Allow binds onto ``/workspace`` or ``/agent``. Default false."""

    dangerously_allow_external_bind_sources: bool = False
    """Allow bind sources outside the sandbox and agent workspace directories. Default false."""

    dangerously_allow_container_namespace_join: bool = False
    """Allow ``network: "container:<id>"`` (shares another container's network). Default false."""

    @field_validator("ulimits")
    @classmethod
    def _ulimit_names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not name.isascii() or not name.isalpha() or not name.islower():
                raise ValueError(f"ulimit name {name!r} must be lower-case letters (nofile, nproc …)")
        return value

    @model_validator(mode="after")
    def _security_rules(self) -> Self:
        errors: list[tuple[tuple[str | int, ...], str, str, object]] = []
        net = self.network.lower()
        if net == "host":
            errors.append(
                (("network",), "network_blocked", 'network "host" is not allowed in the sandbox', self.network)
            )
        elif net.startswith("container:") and not self.dangerously_allow_container_namespace_join:
            errors.append((
                ("network",),
                "network_blocked",
                'network "container:…" joins another container; set dangerouslyAllowContainerNamespaceJoin to allow it',
                self.network,
            ))
        for key, value in (("seccompProfile", self.seccomp_profile), ("apparmorProfile", self.apparmor_profile)):
            if value is not None and value.lower() == "unconfined":
                errors.append(((key,), "profile_unconfined", f'{key} "unconfined" is not allowed', value))
        for index, bind in enumerate(self.binds):
            problem = self._bind_problem(bind)
            if problem:
                errors.append((("binds", index), "bind_rejected", problem, bind))
        if not posixpath.isabs(self.workdir):
            errors.append((("workdir",), "not_absolute", "workdir must be an absolute container path", self.workdir))
        swap_error = self._swap_problem()
        if swap_error:
            errors.append((("memorySwap",), "swap_below_memory", swap_error, self.memory_swap))
        raise_at("SandboxDockerConfig", errors)
        return self

    def _bind_problem(self, bind: str) -> str | None:
        parts = bind.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            return f"{bind!r} is not host:container[:mode]"
        source, target = posixpath.normpath(parts[0]), posixpath.normpath(parts[1])
        if len(parts) == 3 and not all(m in _BIND_MODES for m in parts[2].split(",")):
            return f"{bind!r}: unknown mount mode {parts[2]!r}"
        if not posixpath.isabs(parts[0]):
            return f"{bind!r}: the host path must be absolute"
        if source == "/":
            return f"{bind!r}: mounting / would expose the whole host"
        for blocked in BLOCKED_BIND_SOURCES:
            if _under(source, blocked):
                return f"{bind!r}: {blocked} may not be mounted into the sandbox"
        if not posixpath.isabs(parts[1]):
            return f"{bind!r}: the container path must be absolute"
        if not self.dangerously_allow_reserved_container_targets:
            for reserved in RESERVED_CONTAINER_TARGETS:
                if _under(target, reserved):
                    return (f"{bind!r}: {reserved} is managed by clawtop; "
                            "set dangerouslyAllowReservedContainerTargets to allow it")
        return None

    def _swap_problem(self) -> str | None:
        if self.memory_swap is None or self.memory_swap == "unlimited":
            return None
        if self.memory == "unlimited":
            return ('memorySwap needs a memory limit; '
                    'with memory "unlimited" set memorySwap to "unlimited" or leave it unset')
        if byte_size(self.memory_swap) < byte_size(self.memory):
            return f"memorySwap ({self.memory_swap}) must be ≥ memory ({self.memory}): it counts memory plus swap"
        return None


def effective_memory_swap(docker: SandboxDockerConfig) -> str | int | None:
    """The ``--memory-swap`` value to apply: unset means "same as memory" (no swap,
    docs/design/sandbox.md#safer-default-limits); returns None when no flag is emitted (both unlimited/unset memory)."""
    if docker.memory_swap is not None:
        return docker.memory_swap
    return None if docker.memory == "unlimited" else docker.memory


class SandboxPruneConfig(StrictModel):
    """``sandbox.prune``: lazy removal of idle or old sandbox containers (docs/design/sandbox.md#pruning-keys,
    docs/design/sandbox.md#registry-and-pruning). The host workspace directory is kept."""

    idle_hours: int = Field(24, ge=0, le=100_000)
    """Remove a container unused for longer than this many hours; 0 disables this criterion.
    Default 24."""

    max_age_days: int = Field(7, ge=0, le=10_000)
    """Remove a container older than this many days; 0 disables this criterion (both 0 disables
    pruning). Default 7."""


class SandboxExecConfig(StrictModel):
    """``sandbox.exec``: limits of the agent's ``exec`` tool, one command at a time. Read at every
    call, so a change applies to the next command (the container is untouched)."""

    timeout_sec: int = Field(120, ge=1, le=86_400)
    """Seconds a command may run when the model's call names no ``timeout``; then the whole
    process group is killed and the tool says so. Same key name as OpenClaw's
    ``tools.exec.timeoutSec``, whose default is 1800; clawtop's is shorter so a hung command
    does not stall a turn for half an hour. Default 120."""

    max_timeout_sec: int = Field(1800, ge=1, le=86_400)
    """Upper bound on a ``timeout`` the model asks for (a longer one is cut to this); must be ≥
    ``timeoutSec``. Default 1800 (OpenClaw's ``tools.exec.timeoutSec`` default)."""

    max_output_bytes: int = Field(64 * 1024, ge=1024, le=100 * 1024 * 1024)
    """Bytes of output kept from one command; the rest is dropped (the command is never blocked)
    and the result says where it was cut. Bounds what one command adds to the context window.
    Default 65536 (64 KiB)."""

    @model_validator(mode="after")
    def _timeouts_ordered(self) -> Self:
        if self.max_timeout_sec < self.timeout_sec:
            raise_at(
                "SandboxExecConfig",
                [(("maxTimeoutSec",), "timeout_order",
                  f"maxTimeoutSec ({self.max_timeout_sec}) must be ≥ timeoutSec ({self.timeout_sec})",
                  self.max_timeout_sec)],
            )
        return self


class SandboxConfig(StrictModel):
    """``agents.defaults.sandbox`` (docs/design/sandbox.md#which-sessions-are-sandboxed,
    docs/design/sandbox.md#settings, docs/design/sandbox.md#clawtop-goes-further)."""

    mode: Literal["off", "non-main", "all"] = Field("off", json_schema_extra=reload(Reload.HOT, "sandbox-drift"))
    """Which sessions run tools in the sandbox: ``off`` none, ``non-main`` every session except
    the agent's main one (groups and channels always count as non-main), ``all`` every session.
    Default ``off``."""

    backend: Literal["docker", "process"] = "docker"
    """``docker`` = containers; ``process`` = host subprocesses, NOT ISOLATED (only rlimits
    apply). Default ``docker``."""

    fallback: Literal["process", "error"] = "process"
    """When Docker is unreachable: ``process`` runs tools NOT ISOLATED with a warning everywhere;
    ``error`` fails as OpenClaw does. Default ``process``."""

    scope: Literal["session", "agent", "shared"] = "agent"
    """One container per ``session``, per ``agent``, or one ``shared`` by all. Default ``agent``."""

    workspace_access: Literal["none", "ro", "rw"] = "none"
    """What the sandbox sees of the agent's workspace: ``none`` (its own sandbox workspace),
    ``ro`` (mounted read-only), ``rw`` (the agent workspace itself, writable). Default ``none``."""

    workspace_root: str | None = None
    """Host directory holding the sandbox workspaces; unset = ``<state dir>/sandboxes``."""

    docker: SandboxDockerConfig = Field(default_factory=SandboxDockerConfig)
    """Container image, security options and resource limits."""

    prune: SandboxPruneConfig = Field(default_factory=SandboxPruneConfig,
                                      json_schema_extra=reload(Reload.HOT, "sandbox-drift"))
    """Idle/age pruning of containers."""

    exec: SandboxExecConfig = Field(default_factory=SandboxExecConfig,
                                    json_schema_extra=reload(Reload.HOT, "next-exec"))
    """Timeout and output cap of the agent's ``exec`` tool."""
