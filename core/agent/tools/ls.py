"""``ls``: list a workspace directory (names, ``/`` after directories, sizes of files).

Symlinks are listed but marked; following one that leaves the workspace is refused by the
other tools when they use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from core.agent.tools.workspace import ToolError, Workspace
from core.providers.types import ToolSpec

MAX_ENTRIES = 1000

SPEC = ToolSpec(
    name="ls",
    description="List a directory inside the workspace (default: the workspace root).",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string", "description": "directory, relative to the workspace"}},
    },
)


def _ls(workspace: Workspace, args: Mapping[str, Any]) -> str:
    real = workspace.resolve(args.get("path") or ".")
    if not real.is_dir():
        raise ToolError(f"not a directory: {args.get('path')}")
    lines = []
    for entry in sorted(real.iterdir(), key=lambda p: p.name)[:MAX_ENTRIES]:
        if entry.is_symlink():
            lines.append(f"{entry.name}@")
        elif entry.is_dir():
            lines.append(f"{entry.name}/")
        else:
            lines.append(f"{entry.name}\t{entry.stat().st_size}")
    return "\n".join(lines) if lines else "(empty)"


async def run(workspace: Workspace, args: Mapping[str, Any]) -> str:
    return await asyncio.to_thread(_ls, workspace, args)
