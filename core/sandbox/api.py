"""The sandbox API: the contract (result types, the backend protocol, errors: defined in
``contract.py``) and the manager that picks a backend.

Other modules (the agent's ``exec`` tool, the stats sampler, the dashboard, the CLI) code against
this file only, so the Docker backend can change without touching them; the backends themselves
import ``contract.py``.

Backends:

- ``DockerBackend`` (``core/sandbox/docker_backend.py``): one hardened container per scope key.
- ``ProcessBackend`` (``core/sandbox/process_backend.py``, the fallback): host subprocesses, NOT
  ISOLATED (docs/design/sandbox.md#process-fallback). Constructed as ``ProcessBackend(config, *, publish, state_dir)``
  with the same signature as ``DockerBackend`` and must satisfy :class:`SandboxBackend`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.config.schema.sandbox import SandboxConfig
from core.sandbox import naming
from core.sandbox.contract import (
    OUTPUT_MARKER,
    WEAK_TAG,
    ContainerInfo,
    ExecResult,
    Limits,
    Publish,
    SandboxBackend,
    SandboxDisabled,
    SandboxError,
    SandboxImageMissing,
    SandboxUnavailable,
)
from core.sandbox.docker_backend import DockerBackend, docker_available
from core.sandbox.process_backend import ProcessBackend

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
    "SandboxManager",
    "SandboxUnavailable",
    "WEAK_TAG",
]

log = logging.getLogger(__name__)


def _sandbox_config(config: Any) -> SandboxConfig:
    # Accept the root config or the sandbox section so callers need not dig.
    if isinstance(config, SandboxConfig):
        return config
    agents = getattr(config, "agents", None)
    if agents is not None:
        sandbox: SandboxConfig = agents.defaults.sandbox
        return sandbox
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
        """Whether a session runs its tools in the sandbox (docs/design/sandbox.md#which-sessions-are-sandboxed)."""
        if self.config.mode == "off":
            return False
        if self.config.mode == "all":
            return True
        return session_key != (main_key or f"agent:{agent_id}:main")

    def scope_key(self, session_key: str, agent_id: str = "main") -> str:
        """The scope key of a session per ``scope`` (docs/design/sandbox.md#names-labels-and-workspaces)."""
        return naming.scope_key(self.config.scope, session_key=session_key, agent_id=agent_id)

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
            client = self._docker_client or await asyncio.to_thread(docker_available)
            if client is not None:
                return DockerBackend(self.config, publish=self._publish, state_dir=self._state_dir, client=client)
            if self.config.fallback == "error":
                raise SandboxUnavailable("Docker daemon is not available (sandbox.fallback = \"error\")")
            log.warning("Docker daemon is not available: sandbox falls back to host processes (NOT ISOLATED)")
        return ProcessBackend(self.config, publish=self._publish, state_dir=self._state_dir)

    async def ensure(self, scope_key: str) -> ContainerInfo:
        return await (await self.backend()).ensure(scope_key)

    async def exec(self, scope_key: str, argv: Sequence[str], **kwargs: Any) -> ExecResult:
        return await (await self.backend()).exec(scope_key, argv, **kwargs)

    async def list(self) -> list[ContainerInfo]:
        return await (await self.backend()).list()

    async def prune(self, *, force: bool = False) -> builtins.list[str]:
        return await (await self.backend()).prune(force=force)

    async def update_limits(self, scope_key: str | None, limits: Limits) -> builtins.list[str]:
        return await (await self.backend()).update_limits(scope_key, limits)

    async def close(self) -> None:
        if self._backend is not None:
            await self._backend.close()
            self._backend = None
