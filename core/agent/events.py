"""Event kinds of the agent loop: tool calls (no file content, no message text) and refusals.

A refused path is a security signal (a model trying to leave the workspace), so it is an event
of its own — persisted, visible in the Events pane — not only a tool error the model sees.
"""

from __future__ import annotations

import dataclasses

from core.events.base import Event, register_kind

__all__ = ["AgentToolCalled", "ToolRefused"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ToolRefused(Event):
    """A tool call named a path outside the workspace (``..``, absolute or via a symlink)."""

    kind = "agent.tool_refused"
    tool: str
    path: str
    reason: str
    session_id: str = ""


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AgentToolCalled(Event):
    """One tool call finished: sizes and outcome only, never the content."""

    kind = "agent.tool_called"
    tool: str
    tool_call_id: str
    session_id: str
    is_error: bool
    result_chars: int
    duration_ms: float
    iteration: int
