"""Sandbox pane state: one :class:`ContainerState` per sandbox, folded from the sandbox events,
plus the exec log of every container.

Limits, backend and hardening come from the gateway's ``ContainerInfo`` when it has one (an
in-memory read), else from the configured docker settings. A batch is folded completely before
the pane repaints, so a flood of stats samples costs one pass.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable, Sequence

from core.config.schema.sandbox import SandboxConfig, SandboxDockerConfig
from core.events import ConfigReloaded, Event
from core.sandbox.api import ContainerInfo
from core.sandbox.events import (
    SandboxBackendName,
    SandboxContainerCreated,
    SandboxContainerRecreated,
    SandboxContainerRemoved,
    SandboxContainerReused,
    SandboxExec,
    SandboxLimitHit,
    SandboxLimitsUpdated,
    SandboxStats,
)

__all__ = ["EXEC_LOG", "NOT_ISOLATED", "SAMPLES", "ContainerState", "SandboxChange", "SandboxModel",
           "hardening_from", "short_tags"]

SAMPLES = 60
"""Stats samples kept per container (the detail screen shows them; the row shows the tail)."""
EXEC_LOG = 50
"""Exec lines kept, over every container."""
NOT_ISOLATED = "NOT ISOLATED"
SANDBOX_PREFIX = "agents.defaults.sandbox"
SHORT_TAGS = {"read-only-root": "ro", "no-new-privileges": "nnp", "network=none": "net:none"}

ContainerEvent = (SandboxContainerCreated | SandboxContainerReused | SandboxContainerRecreated
                  | SandboxExec | SandboxLimitHit | SandboxLimitsUpdated | SandboxStats)


@dataclasses.dataclass(slots=True)
class ContainerState:
    """What is known of one container (the detail screen reads it)."""

    name: str
    scope: str = ""
    backend: SandboxBackendName = "docker"
    isolated: bool = True
    cpus: float | None = None
    """CPU limit in cores (None: unlimited or unknown), for the sparkline scale."""
    memory_limit: int | None = None
    pids_limit: int | None = None
    stale: bool = False
    hardening: tuple[str, ...] = ()
    memory_swap: int | None = None
    samples: collections.deque[SandboxStats] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=SAMPLES))
    hits: collections.deque[tuple[str, str]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=20))
    execs: collections.deque[SandboxExec] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=EXEC_LOG))
    updates: list[str] = dataclasses.field(default_factory=list)
    """Live limit changes (``docker update``), newest last."""


def hardening_from(docker: SandboxDockerConfig, isolated: bool) -> tuple[str, ...]:
    """Short hardening flags from the configured docker settings, used until the manager says
    better (``ContainerInfo.hardening``). The process fallback has none."""
    if not isolated:
        return ()
    flags = ["init", "nnp"]
    if docker.read_only_root:
        flags.append("ro")
    if docker.network == "none":
        flags.append("net:none")
    if "ALL" in (c.upper() for c in docker.cap_drop):
        flags.append("cap-drop:ALL")
    return tuple(flags)


def short_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """``ContainerInfo.hardening`` tags in the pane's short form (``read-only-root`` → ``ro``);
    the process fallback's ``NOT ISOLATED`` tag is dropped (the backend column says it)."""
    return tuple(SHORT_TAGS.get(tag, tag.replace("=", ":", 1)) for tag in tags if NOT_ISOLATED not in tag)


@dataclasses.dataclass(frozen=True, slots=True)
class SandboxChange:
    """What one batch changed: rows to redraw, rows to drop, whether the exec log or the
    sandbox config moved."""

    touched: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    execs: bool = False
    config: bool = False


class SandboxModel:
    """Containers by name and the shared exec log. ``sandbox_config`` reads the sandbox config
    in force; ``container_info`` the gateway's latest ``ContainerInfo`` of a name."""

    def __init__(self, sandbox_config: Callable[[], SandboxConfig],
                 container_info: Callable[[str], ContainerInfo | None]) -> None:
        self._config = sandbox_config
        self._info = container_info
        self.containers: dict[str, ContainerState] = {}
        self.exec_log: collections.deque[tuple[str, SandboxExec]] = collections.deque(maxlen=EXEC_LOG)
        """(row key, exec) of every container, newest last."""
        self._exec_seq = 0

    @property
    def sandbox_off(self) -> bool:
        """True when ``agents.defaults.sandbox.mode`` is ``off`` (read live)."""
        return self._config().mode == "off"

    def configured_cpus(self) -> float | None:
        cpus = self._config().docker.cpus
        return float(cpus) if isinstance(cpus, (int, float)) else None

    def apply(self, events: Iterable[Event]) -> SandboxChange:
        touched: set[str] = set()
        removed: set[str] = set()
        execs = config = False
        for event in events:
            match event:
                case ConfigReloaded():
                    if any(p.startswith(SANDBOX_PREFIX) for p in event.changed_paths):
                        for state in self.containers.values():
                            state.cpus = self.configured_cpus()
                            touched.add(state.name)
                        config = True
                case SandboxContainerRemoved():
                    self.containers.pop(event.name, None)
                    removed.add(event.name)
                    touched.discard(event.name)
                case SandboxContainerCreated() | SandboxContainerReused() | SandboxContainerRecreated() \
                        | SandboxExec() | SandboxLimitHit() | SandboxLimitsUpdated() | SandboxStats():
                    if not event.name:
                        continue
                    self._fold(self._state(event), event)
                    touched.add(event.name)
                    execs = execs or isinstance(event, SandboxExec)
        for name in touched:
            if name in self.containers:
                self.refresh_info(self.containers[name])
        return SandboxChange(frozenset(touched), frozenset(removed), execs, config)

    def _fold(self, state: ContainerState, event: ContainerEvent) -> None:
        match event:
            case SandboxStats():
                state.samples.append(event)
                state.stale = event.stale
                state.memory_limit = event.memory_limit_bytes
                state.pids_limit = event.pids_limit
            case SandboxLimitHit():
                state.hits.append((event.limit, event.detail))
            case SandboxExec():
                state.execs.append(event)
                self._exec_seq += 1
                self.exec_log.append((f"x{self._exec_seq}", event))
            case SandboxLimitsUpdated():
                state.updates.append(f"{', '.join(event.changed)}: {event.before} → {event.after}".strip())
            case SandboxContainerRecreated():
                state.scope = event.scope_key
                state.samples.clear()
            case SandboxContainerCreated() | SandboxContainerReused():
                state.scope = event.scope_key

    def _state(self, event: ContainerEvent) -> ContainerState:
        state = self.containers.get(event.name)
        if state is None:
            isolated = event.isolated
            state = self.containers[event.name] = ContainerState(
                name=event.name, isolated=isolated, backend="docker" if isolated else "process",
                cpus=self.configured_cpus(), hardening=hardening_from(self._config().docker, isolated))
        return state

    def refresh_info(self, state: ContainerState) -> None:
        """Take backend, limits and hardening from the manager's ``ContainerInfo`` when it has it."""
        info = self._info(state.name)
        if info is None:
            return
        state.isolated = info.isolated
        state.backend = info.backend
        state.scope = info.scope_key or state.scope
        state.hardening = short_tags(info.hardening)
        limits = info.limits
        state.cpus = limits.cpus if limits.cpus is not None and limits.cpus > 0 else None
        state.memory_limit = limits.memory_bytes
        state.pids_limit = limits.pids_limit
        state.memory_swap = limits.memory_swap_bytes

    @property
    def exposed(self) -> int:
        """Containers running as NOT ISOLATED host processes."""
        return sum(1 for s in self.containers.values() if not s.isolated)

    @property
    def hit_count(self) -> int:
        return sum(len(s.hits) for s in self.containers.values())
