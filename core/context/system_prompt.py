"""The system prompt: base text + tool list + skills + Project Context + silent-reply rules.

Returns the text *and* its parts, because the ``/context`` report must attribute every char
(docs/design/context.md#report-data) and recomputing the parts from the text later would be guesswork. The
section headings mirror OpenClaw's so the report can cut Project Context exactly as it does:
from ``\\n# Project Context\\n`` to ``\\n## Silent Replies\\n``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.context.bootstrap import BootstrapResult, render_project_context
from core.providers.types import ToolSpec

__all__ = [
    "DEFAULT_BASE_PROMPT",
    "SILENT_REPLIES",
    "TRUNCATION_NOTICE",
    "SkillSpec",
    "SystemPrompt",
    "ToolEntry",
    "ToolSpec",
    "build_system_prompt",
    "project_context_chars",
]

DEFAULT_BASE_PROMPT = (
    "You are a personal assistant running inside clawtop.\n"
    "Answer directly and concisely. Use tools when they help; never invent tool results."
)

SILENT_REPLIES = (
    "## Silent Replies\n"
    "When you have nothing to say (for example after a background task), reply with exactly "
    "NO_REPLY and nothing else."
)

TRUNCATION_NOTICE = (
    "Note: some project context files were truncated to fit the configured limits; read the "
    "file itself when you need the omitted part."
)
"""Fixed, non-configurable notice (docs/design/context.md#bootstrap-files) added when any bootstrap file was
truncated."""


@dataclass(frozen=True, slots=True)
class SkillSpec:
    """A skill's ``<skill>…</skill>`` block as it appears in the skills prompt."""

    name: str
    block: str


@dataclass(frozen=True, slots=True)
class ToolEntry:
    """Report figures of one tool (docs/design/context.md#report-data): description chars, serialised schema chars,
    count of top-level properties."""

    name: str
    summary_chars: int
    schema_chars: int
    properties_count: int


@dataclass(frozen=True, slots=True)
class SystemPrompt:
    """A built prompt and its accounting."""

    text: str
    base_chars: int
    tool_list_chars: int
    skills_chars: int
    project_context_chars: int
    tools: tuple[ToolEntry, ...]
    skills: tuple[tuple[str, int], ...]
    bootstrap: BootstrapResult | None

    @property
    def chars(self) -> int:
        """Trimmed prompt length (docs/design/context.md#report-data)."""
        return len(self.text.strip())

    @property
    def schema_chars(self) -> int:
        return sum(t.schema_chars for t in self.tools)


def _schema_json(parameters: Mapping[str, Any]) -> str:
    # JSON.stringify: no spaces, non-ASCII kept.
    return json.dumps(parameters, ensure_ascii=False, separators=(",", ":"))


def tool_entry(tool: ToolSpec) -> ToolEntry:
    """Accounting for one tool, as offered to the model."""
    schema = tool.input_schema
    props = schema.get("properties")
    return ToolEntry(
        name=tool.name,
        summary_chars=len(tool.description),
        schema_chars=len(_schema_json(schema)),
        properties_count=len(props) if isinstance(props, Mapping) else 0,
    )


def project_context_chars(text: str) -> int:
    """Length of the substring from ``\\n# Project Context\\n`` to ``\\n## Silent Replies\\n``
    (OpenClaw's definition; 0 when there is no Project Context)."""
    start = text.find("\n# Project Context\n")
    if start < 0:
        return 0
    end = text.find("\n## Silent Replies\n", start)
    return (end if end >= 0 else len(text)) - start


def build_system_prompt(
    *,
    base: str = DEFAULT_BASE_PROMPT,
    tools: Sequence[ToolSpec] = (),
    skills: Sequence[SkillSpec] = (),
    bootstrap: BootstrapResult | None = None,
    truncation_notice: bool = True,
) -> SystemPrompt:
    """Assemble the prompt. ``truncation_notice`` is decided by the caller from
    ``bootstrapPromptTruncationWarning`` (``once`` = only the first run of a session)."""
    sections = [base.strip()]
    tool_list = ""
    if tools:
        lines = ["## Tooling", "Tools available (call them by name):"]
        lines += [f"- {t.name}: {t.description}" if t.description else f"- {t.name}" for t in tools]
        tool_list = "\n".join(lines)
        sections.append(tool_list)
    skills_text = ""
    if skills:
        skills_text = "## Skills\n<available_skills>\n" + "\n".join(s.block for s in skills) + "\n</available_skills>"
        sections.append(skills_text)
    if bootstrap is not None:
        context = render_project_context(bootstrap)
        if context:
            if truncation_notice and bootstrap.truncated:
                context += TRUNCATION_NOTICE + "\n"
            sections.append(context.rstrip("\n"))
    sections.append(SILENT_REPLIES)
    text = "\n\n".join(sections)
    return SystemPrompt(
        text=text,
        base_chars=len(base.strip()),
        tool_list_chars=len(tool_list),
        skills_chars=len(skills_text),
        project_context_chars=project_context_chars(text),
        tools=tuple(tool_entry(t) for t in tools),
        skills=tuple((s.name, len(s.block)) for s in skills),
        bootstrap=bootstrap,
    )
