"""Sandboxed tool execution: per-scope hardened Docker containers (or a NOT ISOLATED process
fallback), their limits, pruning and limit-hit events. See ``api.py`` for the contract."""

from core.sandbox.api import (
    ContainerInfo,
    ExecResult,
    Limits,
    SandboxBackend,
    SandboxError,
    SandboxImageMissing,
    SandboxManager,
    SandboxUnavailable,
)

__all__ = [
    "ContainerInfo",
    "ExecResult",
    "Limits",
    "SandboxBackend",
    "SandboxError",
    "SandboxImageMissing",
    "SandboxManager",
    "SandboxUnavailable",
]
