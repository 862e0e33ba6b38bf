"""``edit``: replace exact text in a workspace file.

Semantics (OpenClaw/pi's): ``oldText`` must occur exactly once unless ``replaceAll`` is true —
an ambiguous edit is refused rather than guessed; not found is an error; ``oldText`` must be
non-empty; the file must exist.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from core.agent.tools.workspace import ToolError, Workspace
from core.providers.types import ToolSpec

SPEC = ToolSpec(
    name="edit",
    description="Replace exact text in a file inside the workspace. 'oldText' must match exactly "
    "once unless 'replaceAll' is true.",
    input_schema={
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "oldText": {"type": "string"},
            "newText": {"type": "string"},
            "replaceAll": {"type": "boolean"},
        },
        "required": ["path", "oldText", "newText"],
    },
)


def _edit(workspace: Workspace, args: Mapping[str, Any]) -> str:
    old, new = args.get("oldText"), args.get("newText")
    if not isinstance(old, str) or not old:
        raise ToolError("'oldText' must be a non-empty string")
    if not isinstance(new, str):
        raise ToolError("'newText' must be a string")
    real = workspace.resolve(args.get("path"))
    if not real.is_file():
        raise ToolError(f"no such file: {args.get('path')}")
    text = real.read_text(encoding="utf-8")
    count = text.count(old)
    if count == 0:
        raise ToolError(f"oldText not found in {workspace.relative(real)}")
    if count > 1 and not args.get("replaceAll"):
        raise ToolError(f"oldText occurs {count} times in {workspace.relative(real)}; "
                        "make it unique or set replaceAll")
    updated = text.replace(old, new) if args.get("replaceAll") else text.replace(old, new, 1)
    tmp = real.with_name(f".{real.name}.tmp-{os.getpid()}")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, real)
    n = count if args.get("replaceAll") else 1
    return f"replaced {n} occurrence{'s' if n != 1 else ''} in {workspace.relative(real)}"


async def run(workspace: Workspace, args: Mapping[str, Any]) -> str:
    return await asyncio.to_thread(_edit, workspace, args)
