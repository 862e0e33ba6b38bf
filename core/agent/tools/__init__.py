"""The agent's file tools, confined to the workspace: ``read``, ``write``, ``edit``, ``ls``.

:func:`run_tool` is the one entry point: it never raises for a tool failure — the model gets an
``is_error`` result it can read and react to — and reports a refused path so the runner can log
it and publish :class:`~core.agent.events.ToolRefused`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.agent.tools import edit, ls, read, write
from core.agent.tools.workspace import PathRefused, ToolError, Workspace
from core.providers.types import ToolSpec

__all__ = ["TOOL_SPECS", "PathRefused", "ToolError", "ToolOutcome", "Workspace", "run_tool"]

_Runner = Callable[[Workspace, Mapping[str, Any]], Awaitable[str]]
_TOOLS: dict[str, tuple[ToolSpec, _Runner]] = {
    m.SPEC.name: (m.SPEC, m.run) for m in (read, write, edit, ls)
}
TOOL_SPECS: tuple[ToolSpec, ...] = tuple(spec for spec, _ in _TOOLS.values())
"""Schemas offered to the model, in a fixed order (a changed order would bust the prompt cache)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call returned; ``refused`` is set when a path left the workspace."""

    text: str
    is_error: bool = False
    refused: PathRefused | None = None


async def run_tool(workspace: Workspace, name: str, args: Mapping[str, Any]) -> ToolOutcome:
    """Run tool ``name``; every failure becomes an error result (never an exception)."""
    entry = _TOOLS.get(name)
    if entry is None:
        return ToolOutcome(f"unknown tool {name!r}; available: {', '.join(_TOOLS)}", is_error=True)
    try:
        return ToolOutcome(await entry[1](workspace, args))
    except PathRefused as exc:
        return ToolOutcome(str(exc), is_error=True, refused=exc)
    except ToolError as exc:
        return ToolOutcome(str(exc), is_error=True)
    except (OSError, UnicodeError, ValueError, TypeError) as exc:
        return ToolOutcome(f"{name} failed: {type(exc).__name__}: {exc}", is_error=True)
