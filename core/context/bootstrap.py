"""Workspace bootstrap files injected as "Project Context" (docs/design/context.md#bootstrap-files).

Byte-for-byte OpenClaw (``pi-embedded-helpers/bootstrap.ts``): each file is trimmed of trailing
whitespace; over the per-file cap it keeps the first 70 % and last 20 % of the cap joined by two
marker lines; a shared total budget shrinks file by file, a file needs ≥ 64 chars of it, and
overflow is clamped with a trailing ``…``. Lengths are code points (OpenClaw counts UTF-16 units;
the two differ only for characters outside the BMP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from core.config.schema.agents import AgentDefaults

__all__ = [
    "BOOTSTRAP_FILES",
    "BootstrapFile",
    "BootstrapResult",
    "clamp_to_budget",
    "load_bootstrap",
    "render_project_context",
    "trim_bootstrap_content",
]

BOOTSTRAP_FILES = ("AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md")
"""Always expected: a missing one injects a ``[MISSING]`` line so the model knows where to look."""

OPTIONAL_FILES = ("BOOTSTRAP.md", ("MEMORY.md", "memory.md"))
"""Injected only when present (BOOTSTRAP.md exists on new workspaces; legacy ``memory.md``)."""

HEAD_RATIO = 0.7
TAIL_RATIO = 0.2
MIN_FILE_BUDGET_CHARS = 64


@dataclass(frozen=True, slots=True)
class BootstrapFile:
    """One workspace file as injected. ``raw_chars`` = length after trimming trailing
    whitespace; ``truncated`` when less than that was injected; ``content`` is what the model
    sees (empty when the budget ran out before this file)."""

    name: str
    path: str
    missing: bool
    raw_chars: int
    injected_chars: int
    truncated: bool
    content: str
    over_file_cap: bool = False


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """All files in injection order plus the caps they were cut to."""

    workspace: str
    files: tuple[BootstrapFile, ...]
    max_chars: int
    total_max_chars: int

    @property
    def truncated(self) -> tuple[BootstrapFile, ...]:
        return tuple(f for f in self.files if f.truncated)

    @property
    def injected(self) -> tuple[BootstrapFile, ...]:
        """Files that reach the prompt (a ``[MISSING]`` line counts; budget-dropped files not)."""
        return tuple(f for f in self.files if f.content)


def trim_bootstrap_content(content: str, file_name: str, max_chars: int) -> tuple[str, bool]:
    """OpenClaw ``trimBootstrapContent``: returns (text, truncated)."""
    trimmed = content.rstrip()
    if len(trimmed) <= max_chars:
        return trimmed, False
    head_chars = math.floor(max_chars * HEAD_RATIO)
    tail_chars = math.floor(max_chars * TAIL_RATIO)
    head = trimmed[:head_chars]
    tail = trimmed[-tail_chars:] if tail_chars > 0 else ""
    marker = "\n".join([
        "",
        f"[...truncated, read {file_name} for full content...]",
        f"…(truncated {file_name}: kept {head_chars}+{tail_chars} chars of {len(trimmed)})…",
        "",
    ])
    return "\n".join([head, marker, tail]), True


def clamp_to_budget(content: str, budget: int) -> str:
    """OpenClaw ``clampToBudget``: cut to ``budget`` chars, the last one being ``…``."""
    if budget <= 0:
        return ""
    if len(content) <= budget:
        return content
    if budget <= 3:
        return content[:budget]
    return content[: budget - 1] + "…"


def _candidates(workspace: Path) -> list[tuple[str, Path, bool]]:
    """(name, path, required) in injection order."""
    out: list[tuple[str, Path, bool]] = [(n, workspace / n, True) for n in BOOTSTRAP_FILES]
    for entry in OPTIONAL_FILES:
        names = entry if isinstance(entry, tuple) else (entry,)
        for name in names:
            path = workspace / name
            if path.is_file():
                out.append((name, path, False))
                break
    return out


_DEFAULTS = AgentDefaults()
"""Caps when a caller names none: ``agents.defaults.bootstrapMaxChars`` / ``bootstrapTotalMaxChars``."""


def load_bootstrap(workspace: str | Path, max_chars: int = _DEFAULTS.bootstrap_max_chars,
                   total_max_chars: int = _DEFAULTS.bootstrap_total_max_chars) -> BootstrapResult:
    """Read the workspace files and cut them to the caps (``agents.defaults.bootstrap*``)."""
    root = Path(workspace).expanduser()
    total = max(1, math.floor(total_max_chars))
    remaining = total
    files: list[BootstrapFile] = []
    for name, path, required in _candidates(root):
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            if not required:
                continue
            raw = None
        if raw is None:
            text = clamp_to_budget(f"[MISSING] Expected at: {path}", remaining)
            remaining = max(0, remaining - len(text))
            files.append(BootstrapFile(name, str(path), True, 0, len(text), False, text))
            continue
        raw_chars = len(raw.rstrip())
        if remaining < MIN_FILE_BUDGET_CHARS:
            # OpenClaw stops injecting here; the file is reported as truncated to nothing.
            files.append(BootstrapFile(name, str(path), False, raw_chars, 0, raw_chars > 0, "", raw_chars > max_chars))
            continue
        trimmed, _ = trim_bootstrap_content(raw, name, max(1, min(max_chars, remaining)))
        text = clamp_to_budget(trimmed, remaining)
        remaining = max(0, remaining - len(text))
        truncated = text != raw.rstrip()
        files.append(BootstrapFile(name, str(path), False, raw_chars, len(text), truncated, text,
                                   raw_chars > max_chars))
    return BootstrapResult(str(root), tuple(files), max_chars, total)


def render_project_context(result: BootstrapResult) -> str:
    """The ``# Project Context`` section (OpenClaw ``system-prompt.ts``); empty when no file is
    injected. Starts with ``# Project Context`` and ends with a newline."""
    files = result.injected
    if not files:
        return ""
    lines = ["# Project Context", "", "The following project context files have been loaded:"]
    if any(f.name.lower() == "soul.md" and not f.missing for f in files):
        lines.append(
            "If SOUL.md is present, embody its persona and tone. Avoid stiff, generic replies; "
            "follow its guidance unless higher-priority instructions override it."
        )
    lines.append("")
    for f in files:
        lines += [f"## {f.name}", "", f.content, ""]
    return "\n".join(lines)
