"""The sandbox contract: result types, the backend protocol and the manager that picks a backend.

Other modules (the agent's ``exec`` tool, the stats sampler, the process fallback, the dashboard)
code against this file only, so the Docker backend can change without touching them.

Backends:

- ``DockerBackend`` (``core/sandbox/docker_backend.py``): one hardened container per scope key.
- ``ProcessBackend`` (``core/sandbox/process_backend.py``, optional): host subprocesses, NOT
  ISOLATED (spec §13.4). Constructed as ``ProcessBackend(config, *, publish, state_dir)`` with the
  same signature as ``DockerBackend`` and must satisfy :class:`SandboxBackend`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from core.config.schema.sandbox import SandboxConfig

__all__ = [
    "ContainerInfo",
    "ExecResult",
    "Limits",
    "Publish",
    "SandboxBackend",
    "SandboxDisabled",
    "SandboxError",
    "SandboxImageMissing",
    "SandboxManager",
    "SandboxUnavailable",
]

log = logging.getLogger(__name__)

Publish = Callable[[Any], None]
"""Where a backend sends its events (``EventBus.publish`` or a test list's ``append``)."""

OUTPUT_MARKER = "\n[output truncated at {limit} bytes]\n"
"""Appended to stdout when it exceeded ``max_output_bytes`` (the agent sees the cut)."""


class SandboxError(RuntimeError):
    """Base of sandbox failures the CLI and tools report as a message, not a traceback."""


class SandboxUnavailable(SandboxError):
    """No usable backend: the Docker daemon is not reachable and the fallback is ``error`` (or the
    process backend is not installed)."""


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
    the sandbox (spec §11.3) — 137 alone may be our own timeout kill."""

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

    async def prune(self, *, force: bool = False) -> list[str]:
        """Remove idle/old sandboxes (spec §8); ``force`` removes all. Returns removed names."""
        ...

    async def update_limits(self, scope_key: str | None, limits: Limits) -> list[str]:
        """Apply ``limits`` live to one sandbox (or all with None); returns updated names."""
        ...

    async def close(self) -> None:
        """Release clients and threads (containers stay for reuse)."""
        ...


def _sandbox_config(config: Any) -> SandboxConfig:
    # Accept the root config or the sandbox section so callers need not dig.
    if isinstance(config, SandboxConfig):
        return config
    agents = getattr(config, "agents", None)
    if agents is not None:
        return agents.defaults.sandbox
    return SandboxConfig.model_validate(config or {})


class SandboxManager:
    """Picks and owns the backend: Docker when a daemon answers, else the process fallback (when
    ``fallback`` is ``process``), nothing when ``mode`` is ``off``. Delegates the backend API."""

    def __init__(self, config: Any, *, publish: Publish, state_dir: str | Path, docker_client: Any = None) -> None:
        self.config = _sandbox_config(config)
        self._publish = publish
        self._state_dir = Path(state_dir)
        self._docker_client = docker_client
        self._backend: SandboxBackend | None = None
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        """False when ``mode`` is ``off``."""
        return self.config.mode != "off"

    def is_sandboxed(self, session_key: str, agent_id: str = "main", *, main_key: str | None = None) -> bool:
        """Whether a session runs its tools in the sandbox (spec §2)."""
        if self.config.mode == "off":
            return False
        if self.config.mode == "all":
            return True
        return session_key != (main_key or f"agent:{agent_id}:main")

    def scope_key(self, session_key: str, agent_id: str = "main") -> str:
        """The scope key of a session per ``scope`` (spec §5)."""
        from core.sandbox.naming import scope_key

        return scope_key(self.config.scope, session_key=session_key, agent_id=agent_id)

    async def backend(self) -> SandboxBackend:
        """The chosen backend (chosen on first use). Raises :class:`SandboxDisabled` or
        :class:`SandboxUnavailable`."""
        if not self.enabled:
            raise SandboxDisabled("sandboxing is off (agents.defaults.sandbox.mode = \"off\")")
        async with self._lock:
            if self._backend is None:
                self._backend = await self._choose()
            return self._backend

    async def _choose(self) -> SandboxBackend:
        if self.config.backend == "docker":
            from core.sandbox.docker_backend import DockerBackend, docker_available

            client = self._docker_client or await asyncio.to_thread(docker_available)
            if client is not None:
                return DockerBackend(self.config, publish=self._publish, state_dir=self._state_dir, client=client)
            if self.config.fallback == "error":
                raise SandboxUnavailable("Docker daemon is not available (sandbox.fallback = \"error\")")
            log.warning("Docker daemon is not available: sandbox falls back to host processes (NOT ISOLATED)")
        return self._process_backend()

    def _process_backend(self) -> SandboxBackend:
        try:
            module = importlib.import_module("core.sandbox.process_backend")
        except ImportError as exc:
            raise SandboxUnavailable("Docker daemon is not available and the process backend is not installed") from exc
        backend: SandboxBackend = module.ProcessBackend(self.config, publish=self._publish, state_dir=self._state_dir)
        return backend

    async def ensure(self, scope_key: str) -> ContainerInfo:
        return await (await self.backend()).ensure(scope_key)

    async def exec(self, scope_key: str, argv: Sequence[str], **kwargs: Any) -> ExecResult:
        return await (await self.backend()).exec(scope_key, argv, **kwargs)

    async def list(self) -> list[ContainerInfo]:
        return await (await self.backend()).list()

    async def prune(self, *, force: bool = False) -> list[str]:
        return await (await self.backend()).prune(force=force)

    async def update_limits(self, scope_key: str | None, limits: Limits) -> list[str]:
        return await (await self.backend()).update_limits(scope_key, limits)

    async def close(self) -> None:
        if self._backend is not None:
            await self._backend.close()
            self._backend = None
