"""``write``: create or overwrite a text file in the workspace (parents created)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from core.agent.tools.workspace import ToolError, Workspace
from core.providers.types import ToolSpec

SPEC = ToolSpec(
    name="write",
    description="Create or overwrite a UTF-8 text file inside the workspace.",
    input_schema={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "file path, relative to the workspace"},
            "content": {"type": "string"},
        },
        "required": ["path", "content"],
    },
)


def _write(workspace: Workspace, args: Mapping[str, Any]) -> str:
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("the 'content' argument must be a string")
    real = workspace.resolve(args.get("path"))
    if real.is_dir():
        raise ToolError(f"{args.get('path')} is a directory")
    real.parent.mkdir(parents=True, exist_ok=True)
    # Re-check after mkdir: a parent created through a racing symlink must not escape.
    workspace.resolve(str(real))
    tmp = real.with_name(f".{real.name}.tmp-{os.getpid()}")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, real)  # atomic: a reader never sees half a file
    return f"wrote {len(content)} chars to {workspace.relative(real)}"


async def run(workspace: Workspace, args: Mapping[str, Any]) -> str:
    return await asyncio.to_thread(_write, workspace, args)
