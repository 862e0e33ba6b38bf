"""``exec``: run a shell command in the session's sandbox (sandbox spec §1, §6.4, §13).

The command runs as ``/bin/sh -lc <command>`` inside the sandbox of the session's scope key —
a hardened container, or the process fallback, which the result then labels **NOT ISOLATED**
on its first line so neither the model nor a reader of the transcript can miss it. Never on the
host directly: without a sandbox manager the tool is not offered at all (see
:func:`core.agent.tools.tool_specs`).

The result always starts with the exit code; a timeout, an OOM kill or cut output is said in
plain words, because the model has to tell "the command failed" from "a limit stopped it".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.agent.tools.context import ToolContext
from core.agent.tools.workspace import ToolError, Workspace
from core.providers.types import ToolSpec
from core.sandbox.api import ExecResult, SandboxError

DEFAULT_TIMEOUT_S = 120
"""Per-command timeout when the call gives none (the schema has no exec timeout key yet)."""
MAX_TIMEOUT_S = 1800
"""Upper bound for a requested timeout (OpenClaw's ``tools.exec.timeoutSec`` default)."""
MAX_OUTPUT_BYTES = 64 * 1024
"""Output kept per stream; the backend cuts the rest and marks the cut."""
MAX_COMMAND_CHARS = 64 * 1024

SPEC = ToolSpec(
    name="exec",
    description=(
        "Run a shell command (/bin/sh -lc) in this session's sandbox: no network, read-only root, "
        "writable /tmp and the sandbox workspace. Returns the exit code and output."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "shell command line"},
            "timeout": {"type": "number", "description": f"seconds (default {DEFAULT_TIMEOUT_S}, max {MAX_TIMEOUT_S})"},
        },
        "required": ["command"],
    },
)


def _timeout_s(args: Mapping[str, Any]) -> float:
    raw = args.get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise ToolError("exec: timeout must be a positive number of seconds")
    return min(float(raw), MAX_TIMEOUT_S)


def format_result(result: ExecResult, *, isolated: bool, timeout_s: float) -> tuple[str, bool]:
    """The tool result text and whether it is an error (a limit stopped the command).

    A non-zero exit is an ordinary result (the model reads it); a timeout or OOM kill is an
    error, with the limit named."""
    lines: list[str] = []
    if not isolated:
        lines.append("NOT ISOLATED: ran as a host process (sandbox process fallback, no container).")
    code = "unknown" if result.exit_code is None else str(result.exit_code)
    lines.append(f"exit code: {code}")
    is_error = False
    if result.timed_out:
        lines.append(f"[timed out after {timeout_s:g} s: the command was killed]")
        is_error = True
    if result.oom_killed:
        lines.append("[killed: out of memory — the sandbox memory limit was hit "
                     "(agents.defaults.sandbox.docker.memory)]")
        is_error = True
    elif result.exit_code == 137 and not result.timed_out:
        lines.append("[killed by SIGKILL (exit 137); no OOM kill was reported]")
    if result.truncated:
        lines.append(f"[output truncated at {MAX_OUTPUT_BYTES} bytes per stream]")
    stdout, stderr = result.stdout.rstrip("\n"), result.stderr.rstrip("\n")
    if stdout:
        lines += ["stdout:", stdout]
    if stderr:
        lines += ["stderr:", stderr]
    if not stdout and not stderr:
        lines.append("(no output)")
    return "\n".join(lines), is_error


async def run(workspace: Workspace, args: Mapping[str, Any], context: ToolContext) -> str:
    """Ensure the session's sandbox, run the command there, describe the outcome."""
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("exec: command must be a non-empty string")
    if len(command) > MAX_COMMAND_CHARS:
        raise ToolError(f"exec: command longer than {MAX_COMMAND_CHARS} characters")
    timeout_s = _timeout_s(args)
    manager = context.sandbox
    if manager is None:
        raise ToolError("exec: this session is not sandboxed (agents.defaults.sandbox.mode)")
    scope = manager.scope_key(context.session_key)
    try:
        backend = await manager.backend()  # chosen once; exec ensures the sandbox itself
        result = await manager.exec(scope, ["/bin/sh", "-lc", command], timeout_ms=int(timeout_s * 1000),
                                    max_output_bytes=MAX_OUTPUT_BYTES)
    except SandboxError as exc:
        raise ToolError(f"exec: sandbox unavailable: {exc}") from exc
    text, is_error = format_result(result, isolated=bool(backend.isolated), timeout_s=timeout_s)
    if is_error:
        raise ToolError(text)
    return text
