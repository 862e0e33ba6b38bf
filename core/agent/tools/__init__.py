"""The agent's tools: the workspace file tools ``read``, ``write``, ``edit``, ``ls`` and, when
the session is sandboxed, ``exec`` (a shell command in the session's sandbox).

:func:`run_tool` is the one entry point: it never raises for a tool failure — the model gets an
``is_error`` result it can read and react to — and reports a refused path so the runner can log
it and publish :class:`~core.agent.events.ToolRefused`. :func:`tool_specs` is what a turn offers:
the file tools always, in their fixed order, then ``exec`` only where it can run (sandboxing on
and the session sandboxed), so the model is never offered a tool that can only fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.agent.tools import edit, exec as exec_tool, ls, read, write
from core.agent.tools.context import ToolContext
from core.agent.tools.workspace import PathRefused, ToolError, Workspace
from core.providers.types import ToolSpec

__all__ = ["TOOL_SPECS", "PathRefused", "ToolContext", "ToolError", "ToolOutcome", "Workspace", "run_tool",
           "tool_specs"]


_Runner = Callable[[Workspace, Mapping[str, Any], ToolContext], Awaitable[str]]


def _file_tool(run: Callable[[Workspace, Mapping[str, Any]], Awaitable[str]]) -> _Runner:
    async def runner(workspace: Workspace, args: Mapping[str, Any], _context: ToolContext) -> str:
        return await run(workspace, args)

    return runner


_FILE_TOOLS: dict[str, tuple[ToolSpec, _Runner]] = {
    m.SPEC.name: (m.SPEC, _file_tool(m.run)) for m in (read, write, edit, ls)
}
_TOOLS: dict[str, tuple[ToolSpec, _Runner]] = {**_FILE_TOOLS, exec_tool.SPEC.name: (exec_tool.SPEC, exec_tool.run)}
TOOL_SPECS: tuple[ToolSpec, ...] = tuple(spec for spec, _ in _FILE_TOOLS.values())
"""The always-offered schemas, in a fixed order (a changed order would bust the prompt cache)."""
SANDBOX_TOOL_SPECS: tuple[ToolSpec, ...] = (*TOOL_SPECS, exec_tool.SPEC)
"""What a sandboxed session is offered: the file tools, then ``exec`` (appended, so the prefix
of the tool list — and the prompt cache of unsandboxed sessions — is unchanged)."""


def tool_specs(sandboxed: bool) -> tuple[ToolSpec, ...]:
    """The schemas offered to a session: ``exec`` only when it runs in a sandbox."""
    return SANDBOX_TOOL_SPECS if sandboxed else TOOL_SPECS


@dataclasses.dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call returned; ``refused`` is set when a path left the workspace."""

    text: str
    is_error: bool = False
    refused: PathRefused | None = None


async def run_tool(workspace: Workspace, name: str, args: Mapping[str, Any],
                   context: ToolContext | None = None) -> ToolOutcome:
    """Run tool ``name``; every failure becomes an error result (never an exception)."""
    context = context or ToolContext()
    available = _TOOLS if context.sandbox is not None else _FILE_TOOLS
    entry = available.get(name)
    if entry is None:
        return ToolOutcome(f"unknown tool {name!r}; available: {', '.join(available)}", is_error=True)
    try:
        return ToolOutcome(await entry[1](workspace, args, context))
    except PathRefused as exc:
        return ToolOutcome(str(exc), is_error=True, refused=exc)
    except ToolError as exc:
        return ToolOutcome(str(exc), is_error=True)
    except (OSError, UnicodeError, ValueError, TypeError) as exc:
        return ToolOutcome(f"{name} failed: {type(exc).__name__}: {exc}", is_error=True)
