"""``read``: a text file of the workspace, optionally a line window.

Large results are the point (they are what cache-TTL pruning later trims), so there is only a
generous safety cap, not a small one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from core.agent.tools.workspace import ToolError, Workspace
from core.providers.types import ToolSpec

MAX_READ_CHARS = 2_000_000
"""Safety cap of one read; beyond it the result says how much was left out."""

SPEC = ToolSpec(
    name="read",
    description="Read a UTF-8 text file inside the workspace. Optional 1-based 'offset' line and "
    "'limit' line count.",
    input_schema={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "file path, relative to the workspace"},
            "offset": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1},
        },
        "required": ["path"],
    },
)


def _read(workspace: Workspace, args: Mapping[str, Any]) -> str:
    real = workspace.resolve(args.get("path"))
    if not real.exists():
        raise ToolError(f"no such file: {args.get('path')}")
    if real.is_dir():
        raise ToolError(f"{args.get('path')} is a directory (use ls)")
    text = real.read_text(encoding="utf-8", errors="replace")
    offset, limit = args.get("offset"), args.get("limit")
    if offset is not None or limit is not None:
        lines = text.splitlines(keepends=True)
        start = max(int(offset or 1), 1) - 1
        end = start + int(limit) if limit is not None else len(lines)
        text = "".join(lines[start:end])
    if len(text) > MAX_READ_CHARS:
        text = text[:MAX_READ_CHARS] + f"\n[read truncated: {len(text) - MAX_READ_CHARS} more chars]"
    return text


async def run(workspace: Workspace, args: Mapping[str, Any]) -> str:
    """The file's text (off the event loop: big files must not stall the dashboard)."""
    return await asyncio.to_thread(_read, workspace, args)
