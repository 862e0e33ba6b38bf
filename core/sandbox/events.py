"""Event kinds of the sandbox: container lifecycle, exec outcomes, limit hits and live stats.

Every event carries ``isolated`` so a consumer can never mistake the process fallback (NOT
ISOLATED, docs/design/sandbox.md#process-fallback) for a container. No command text or output is recorded — only
``argv0`` — because tool arguments may hold user data.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

__all__ = [
    "LimitName",
    "RemovalReason",
    "SandboxContainerCreated",
    "SandboxContainerRecreated",
    "SandboxContainerRemoved",
    "SandboxContainerReused",
    "SandboxExec",
    "SandboxLimitHit",
    "SandboxLimitsUpdated",
    "SandboxStats",
    "SandboxBackendName",
]

SandboxBackendName = Literal["docker", "process"]
RemovalReason = Literal["idle", "max_age", "forced", "drift", "setup_failed", "unusable"]
LimitName = Literal["pids", "memory", "cpu", "timeout"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxContainerCreated(Event):
    """A sandbox container was created and started (``setup_ran``: setupCommand ran once)."""

    kind = "sandbox.container_created"
    name: str
    scope_key: str
    image: str
    config_hash: str
    backend: SandboxBackendName = "docker"
    isolated: bool = True
    setup_ran: bool = False


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxContainerReused(Event):
    """An existing container was reused. ``drift_kept``: its config hash is stale but it was used
    in the last 5 minutes, so it is kept (docs/design/sandbox.md#ensure-and-drift) and ``note`` tells how to apply the
    change."""

    kind = "sandbox.container_reused"
    name: str
    scope_key: str
    drift_kept: bool = False
    note: str = ""
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxContainerRecreated(Event):
    """A container whose config hash drifted (and was idle) was removed and created anew."""

    kind = "sandbox.container_recreated"
    name: str
    scope_key: str
    old_hash: str
    new_hash: str
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxContainerRemoved(Event):
    """A container was removed; ``reason`` is ``idle``, ``max_age``, ``forced``, ``drift``,
    ``setup_failed`` or ``unusable`` (it could not run a command; a new one replaces it at once).
    The host workspace directory is kept."""

    kind = "sandbox.container_removed"
    name: str
    scope_key: str
    reason: RemovalReason
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxExec(Event):
    """One command ran in a sandbox (the agent's ``exec`` tool). Only ``argv0`` is kept."""

    kind = "sandbox.exec"
    name: str
    scope: str
    argv0: str
    exit_code: int | None
    duration_ms: float
    timed_out: bool = False
    truncated: bool = False
    oom_killed: bool = False
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimitHit(Event):
    """A resource limit stopped or held back work: ``limit`` is ``pids``, ``memory``, ``cpu`` or
    ``timeout``; ``detail`` says what was observed (e.g. ``exit 137, OOMKilled``)."""

    kind = "sandbox.limit_hit"
    name: str
    limit: LimitName
    detail: str
    scope: str = ""
    argv0: str = ""
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimitsUpdated(Event):
    """Limits of a running container were changed live (``docker update``, docs/design/sandbox.md#live-limit-tuning).
    ``applies_on_recreate`` is False: the config hash is unchanged, so a recreate goes back to the
    configured values unless they are written back."""

    kind = "sandbox.limits_updated"
    name: str
    changed: tuple[str, ...]
    applies_on_recreate: bool = False
    before: str = ""
    after: str = ""
    source: str = "api"
    isolated: bool = True


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SandboxStats(Event):
    """One resource sample of a sandbox (docs/design/sandbox.md#resource-statistics,
    docs/design/sandbox.md#stats-sampling-cost). ``stale``: older than 2 s."""

    kind = "sandbox.stats"
    name: str
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int | None
    pids: int
    pids_limit: int | None
    net_rx_bytes: int = 0
    net_tx_bytes: int = 0
    blk_read_bytes: int = 0
    blk_write_bytes: int = 0
    throttled_periods: int = 0
    throttled_time_ns: int = 0
    stale: bool = False
    isolated: bool = True
