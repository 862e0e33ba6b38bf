"""``exec``: run a shell command in the session's sandbox (docs/design/sandbox.md#what-runs-in-the-sandbox,
docs/design/sandbox.md#running-a-command, docs/design/sandbox.md#clawtop-goes-further).

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
from core.config.schema.sandbox import SandboxExecConfig
from core.providers.types import ToolSpec
from core.sandbox.api import ExecResult, SandboxError

_DEFAULTS = SandboxExecConfig()
"""The schema's ``agents.defaults.sandbox.exec`` defaults, quoted in the tool description (a
static text, so a tuned value is not reflected there; the limits applied are read per call from
the sandbox manager's config)."""
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
            "timeout": {"type": "number",
                        "description": f"seconds (default {_DEFAULTS.timeout_sec}, max {_DEFAULTS.max_timeout_sec})"},
        },
        "required": ["command"],
    },
)


def _timeout_s(args: Mapping[str, Any], limits: SandboxExecConfig) -> float:
    raw = args.get("timeout")
    if raw is None:
        return limits.timeout_sec
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise ToolError("exec: timeout must be a positive number of seconds")
    return min(float(raw), limits.max_timeout_sec)


def format_result(result: ExecResult, *, isolated: bool, timeout_s: float, max_output_bytes: int) -> tuple[str, bool]:
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
        lines.append(f"[output truncated at {max_output_bytes} bytes per stream]")
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
    manager = context.sandbox
    if manager is None:
        raise ToolError("exec: this session is not sandboxed (agents.defaults.sandbox.mode)")
    limits: SandboxExecConfig = manager.config.exec  # read per call: a reload applies to the next command
    timeout_s = _timeout_s(args, limits)
    scope = manager.scope_key(context.session_key)
    try:
        backend = await manager.backend()  # chosen once; exec ensures the sandbox itself
        result = await manager.exec(scope, ["/bin/sh", "-lc", command], timeout_ms=int(timeout_s * 1000),
                                    max_output_bytes=limits.max_output_bytes)
    except SandboxError as exc:
        raise ToolError(f"exec: sandbox unavailable: {exc}") from exc
    text, is_error = format_result(result, isolated=bool(backend.isolated), timeout_s=timeout_s,
                                   max_output_bytes=limits.max_output_bytes)
    if is_error:
        raise ToolError(text)
    return text
