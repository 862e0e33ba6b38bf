"""The sandbox contract: what every backend implements (:class:`SandboxBackend`), the values it
returns and the errors it raises.

The backends (``docker_backend.py``, ``process_backend.py``) and their helpers import this leaf
module; the rest of clawtop imports the same names from :mod:`core.sandbox.api`, which adds the
manager that picks a backend (and so imports the backends).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from core.events.base import Event

__all__ = [
    "OUTPUT_MARKER",
    "ContainerInfo",
    "ExecResult",
    "Limits",
    "Publish",
    "SandboxBackend",
    "SandboxDisabled",
    "SandboxError",
    "SandboxImageMissing",
    "SandboxUnavailable",
    "WEAK_TAG",
]

Publish = Callable[[Event], None]
"""Where a backend sends its events (``EventBus.publish`` or a test list's ``append``)."""

WEAK_TAG = "WEAK"
"""First hardening tag of a container lacking root-user, capability or read-only-root hardening
(allowed only by ``dangerouslyAllowWeakHardening``), e.g. ``WEAK:root,caps``."""

OUTPUT_MARKER = "\n[output truncated at {limit} bytes]\n"
"""Appended to stdout when it exceeded ``max_output_bytes`` (the agent sees the cut)."""


class SandboxError(RuntimeError):
    """Base of sandbox failures the CLI and tools report as a message, not a traceback."""


class SandboxUnavailable(SandboxError):
    """No usable backend: the Docker daemon is not reachable and the fallback is ``error``."""


class SandboxImageMissing(SandboxError):
    """The configured image does not exist locally; the message names ``clawtop sandbox build``."""


class SandboxDisabled(SandboxError):
    """``agents.defaults.sandbox.mode`` is ``off``: nothing runs in a sandbox."""


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one sandbox; ``None`` means unlimited (no flag / ``-1``)."""

    cpus: float | None = None
    memory_bytes: int | None = None
    memory_swap_bytes: int | None = None
    pids_limit: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ExecResult:
    """Outcome of one command. ``exit_code`` is None only when it could not be read (killed and
    gone). ``oom_killed`` is True only when the exit was 137 and the kernel reported an OOM kill in
    the sandbox (docs/design/sandbox.md#oom-detection) — 137 alone may be our own timeout kill."""

    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool = False
    timed_out: bool = False
    oom_killed: bool = False
    duration_ms: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class ContainerInfo:
    """What is known about one sandbox. Times are wall-clock seconds (``time.time()``)."""

    name: str
    scope_key: str
    image: str
    state: str
    created_wall: float
    last_used_wall: float | None
    config_hash: str
    backend: Literal["docker", "process"]
    isolated: bool
    limits: Limits
    hardening: tuple[str, ...] = ()
    """Applied protections, e.g. ``("read-only-root", "network=none", "cap-drop=ALL", …)``."""


@runtime_checkable
class SandboxBackend(Protocol):
    """What every backend offers. All methods are async and never block the event loop."""

    name: str
    isolated: bool

    async def ensure(self, scope_key: str) -> ContainerInfo:
        """Create (or reuse) the sandbox of ``scope_key`` and return its info."""
        ...

    async def exec(
        self,
        scope_key: str,
        argv: Sequence[str],
        *,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout_ms: int | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Run ``argv`` (no shell unless argv says so) in the sandbox; ensures it first."""
        ...

    async def list(self) -> list[ContainerInfo]:
        """Every sandbox this backend owns (by label), running or not."""
        ...

    async def prune(self, *, force: bool = False) -> builtins.list[str]:
        """Remove idle/old sandboxes (docs/design/sandbox.md#registry-and-pruning); ``force`` removes all. Returns
        removed names."""
        ...

    async def update_limits(self, scope_key: str | None, limits: Limits) -> builtins.list[str]:
        """Apply ``limits`` live to one sandbox (or all with None); returns updated names."""
        ...

    async def close(self) -> None:
        """Release clients and threads (containers stay for reuse)."""
        ...
