"""What a tool call knows beyond the workspace: which session calls, and its sandbox."""

from __future__ import annotations

import dataclasses

from core.sandbox.api import SandboxManager

__all__ = ["ToolContext"]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolContext:
    """Per-call context beyond the workspace: which session calls, and its sandbox (if any).

    ``sandbox`` is the gateway's sandbox manager when the session is sandboxed, else None (then
    ``exec`` is neither offered nor runnable)."""

    session_key: str = "main"
    sandbox: SandboxManager | None = None
