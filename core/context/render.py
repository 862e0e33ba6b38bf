"""``/context list|detail|json`` text, in the layout of docs/design/context.md#list-layout,
docs/design/context.md#detail-and-json plus clawtop's history, calibration and thresholds blocks
(docs/design/context.md#chars-per-token-calibration, docs/design/context.md#distance-to-every-threshold).

Every size prints as ``N chars (~T tok)`` with en-US thousands separators (docs/design/context.md#number-format); ``T``
uses the report's chars-per-token ratio (4 until calibrated).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from core.context.report import ContextReport

__all__ = ["CONTEXT_HELP", "USAGE", "render", "render_detail", "render_json", "render_list"]

USAGE = "Usage: /context [list|detail|json]"
CONTEXT_HELP = "\n".join([
    "🧠 /context",
    "What counts toward the model's context window, and how close each limit is.",
    "",
    "/context list   short breakdown (alias: show)",
    "/context detail per-file, per-tool and per-skill sizes (alias: deep)",
    "/context json   the same data as JSON",
])
# The baseline's note used ``/status`` as its example; clawtop has no such command and runs no
# command token inside a message, so the note names the commands it has and where they work.
INLINE_NOTE = (
    "Inline shortcuts (a command token inside a normal message) are not run: /context, /compact "
    "and /new work only at the start of a message; anywhere else they go to the model as text."
)
_HISTORY_LABELS = {
    "user": "User",
    "assistant_text": "Assistant text",
    "thinking": "Thinking",
    "tool_calls": "Tool calls",
    "tool_results": "Tool results",
    "images": "Images",
    "compaction_summaries": "Compaction summaries",
    "other": "Other",
}
_THRESHOLD_LABELS = {"softTrim": "Soft trim", "hardClear": "Hard clear", "compaction": "Compaction",
                     "memoryFlush": "Memory flush"}


def _size(report: ContextReport, chars: int) -> str:
    return f"{chars:,} chars (~{report.tok(chars):,} tok)"


def _names(names: list[str], limit: int) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … (+{len(names) - limit} more)" if len(names) > limit else "")


def _header_lines(report: ContextReport, title: str) -> list[str]:
    """Items 1–8 of docs/design/context.md#list-layout (shared by list and detail)."""
    prompt = report.prompt
    lines = [
        title,
        f"Workspace: {report.workspace_dir or '(none)'}",
        f"Bootstrap max/file: {report.bootstrap_max_chars:,} chars",
        f"Bootstrap max/total: {report.bootstrap_total_max_chars:,} chars",
        f"Sandbox: mode={report.sandbox_mode} sandboxed={'true' if report.sandboxed else 'false'}",
        f"System prompt ({report.source}): {_size(report, prompt.chars)} "
        f"(Project Context {_size(report, prompt.project_context_chars)})",
    ]
    files = prompt.bootstrap.files if prompt.bootstrap else ()
    truncated = [f for f in files if f.truncated]
    if truncated:
        raw = sum(f.raw_chars for f in truncated)
        injected = sum(f.injected_chars for f in truncated)
        per_file = sum(1 for f in truncated if f.over_file_cap)
        lines += [
            f"⚠ Bootstrap context is over configured limits: {len(truncated)} file(s) truncated "
            f"({raw:,} raw chars -> {injected:,} injected chars).",
            f"Causes: {per_file} file(s) exceeded max/file; {len(truncated) - per_file} file(s) hit max/total.",
            "Tip: raise agents.defaults.bootstrapMaxChars and/or agents.defaults.bootstrapTotalMaxChars "
            "if this truncation is not intended.",
        ]
    lines += ["", "Injected workspace files:"]
    for f in files:
        status = "MISSING" if f.missing else "TRUNCATED" if f.truncated else "OK"
        lines.append(f"- {f.name}: {status} | raw {_size(report, f.raw_chars)}"
                     f" | injected {_size(report, f.injected_chars)}")
    if not files:
        lines.append("- (none)")
    return lines


def _skills_line(report: ContextReport) -> str:
    size = _size(report, report.prompt.skills_chars)
    return f"Skills list (system prompt text): {size} ({len(report.prompt.skills)} skills)"


def _tool_lines(report: ContextReport) -> list[str]:
    return [
        f"Tool list (system prompt text): {_size(report, report.prompt.tool_list_chars)}",
        f"Tool schemas (JSON): {_size(report, report.prompt.schema_chars)} (counts toward context; not shown as text)",
    ]


def _session_line(report: ContextReport) -> str:
    total = report.usage.session_total
    cached = f"{total:,} total" if total is not None else "unknown"
    return f"Session tokens (cached): {cached} / ctx={report.window.tokens:,}"


def _clawtop_lines(report: ContextReport) -> list[str]:
    """Window, ratio, history by category, reserve, free space, thresholds
    (docs/design/context.md#chars-per-token-calibration, docs/design/context.md#distance-to-every-threshold)."""
    window, ratio, hist = report.window, report.ratio, report.history
    cal = report.calibration
    if ratio.calibrated:
        ratio_text = f"{ratio.ratio:.2f} (calibrated, {ratio.samples} samples)"
    elif ratio.mode == "calibrated":
        ratio_text = f"{ratio.ratio:.2f} (default until 5 samples; {ratio.samples} so far)"
    else:
        ratio_text = f"{ratio.ratio:.2f} ({ratio.mode})"
    if cal is not None and cal.samples:
        ratio_text += (f"; last estimate {cal.last_estimated_tokens:,} vs actual {cal.last_actual_tokens:,} tok"
                       f" ({cal.last_error_pct:+.1f}%)")
    actual = report.usage.prompt_tokens
    lines = [
        "",
        f"Context window: {window.tokens:,} tok (source {window.source}; native {window.native:,})"
        f" · guard {window.guard}",
        f"Chars per token: {ratio_text}",
        f"Estimated prompt: {report.estimated_tokens:,} tok"
        + (f" · actual (last request): {actual:,} tok" if actual is not None else " · actual: unknown (no usage yet)"),
        f"History ({hist.messages:,} messages):",
    ]
    for name, label in _HISTORY_LABELS.items():
        line = f"- {label}: {_size(report, hist.by_category[name])}"
        if name == "tool_results":
            line += f" ({hist.tool_result_count:,} results)"
        elif name == "images":
            line += f" ({hist.image_count:,} images)"
        lines.append(line)
        if name == "tool_results":
            per_tool = sorted(hist.tool_results_by_tool.items(), key=lambda kv: (-kv[1], kv[0]))
            lines += [f"  - {tool}: {_size(report, chars)}" for tool, chars in per_tool]
    free = report.categories["free"]
    pct = 100.0 * free / window.tokens if window.tokens else 0.0
    lines += [
        f"Reserved output: {report.categories['reserved_output']:,} tok",
        f"Free space: {free:,} tok ({pct:.1f}%)",
        "",
        "Thresholds:",
        f"- Prune gate: {report.prune_status}",
    ]
    for key, label in _THRESHOLD_LABELS.items():
        t = report.thresholds[key]
        lines.append(
            f"- {label}: {t.current:,} / {t.limit:,} tok — {t.remaining:,} tok to go ({t.remaining_pct:.1f}%)"
            f" [{t.note}]"
        )
    g = report.extras["guardLevels"]
    lines.append(f"- Window guard: {window.tokens:,} tok ({window.source});"
                 f" warn < {g['warn']:,}, block < {g['block']:,}")
    return lines


def render_list(report: ContextReport) -> str:
    """docs/design/context.md#list-layout, items 1–14, with clawtop's blocks before the closing note."""
    prompt = report.prompt
    skill_names = [name for name, _ in prompt.skills]
    tool_names = [t.name for t in prompt.tools]
    lines = _header_lines(report, "🧠 Context breakdown")
    lines += [
        "",
        _skills_line(report),
        f"Skills: {_names(skill_names, 20)}" if skill_names else "Skills: (none)",
        *_tool_lines(report),
        f"Tools: {_names(tool_names, 30)}" if tool_names else "Tools: (none)",
        "",
        _session_line(report),
        *_clawtop_lines(report),
        "",
        INLINE_NOTE,
    ]
    return "\n".join(lines)


def _top(items: Iterable[tuple[str, int]], limit: int = 30) -> list[tuple[str, int]]:
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:limit]


def render_detail(report: ContextReport) -> str:
    """docs/design/context.md#detail-and-json ``detail``."""
    prompt = report.prompt
    lines = _header_lines(report, "🧠 Context breakdown (detailed)")
    lines += ["", _skills_line(report)]
    if prompt.skills:
        lines.append("Top skills (prompt entry size):")
        lines += [f"- {name}: {_size(report, chars)}" for name, chars in _top(prompt.skills)]
    lines += _tool_lines(report)
    if prompt.tools:
        lines.append("Top tools (schema size):")
        lines += [f"- {n}: {_size(report, c)}" for n, c in _top((t.name, t.schema_chars) for t in prompt.tools)]
        lines.append("Top tools (summary text size):")
        lines += [f"- {n}: {_size(report, c)}" for n, c in _top((t.name, t.summary_chars) for t in prompt.tools)]
        lines.append("Tools (param count):")
        lines += [f"- {n}: {c} params" for n, c in _top((t.name, t.properties_count) for t in prompt.tools)]
    tracked = report.tracked_prompt_chars
    lines += ["", f"Tracked prompt estimate: {_size(report, tracked)}"]
    actual = report.usage.session_total
    if actual is None:
        lines.append("Actual context usage (cached): unknown")
    else:
        lines.append(f"Actual context usage (cached): {actual:,} tok")
        overhead = actual - report.estimated_tokens
        if overhead > 0:
            lines.append(f"Untracked provider/runtime overhead: ~{overhead:,} tok")
    lines += [
        f"Compactable transcript messages: {report.compactable_messages:,}",
        "",
        _session_line(report),
        *_clawtop_lines(report),
    ]
    return "\n".join(lines)


def report_json(report: ContextReport) -> dict[str, Any]:
    """The ``json`` payload: OpenClaw's ``{report, session}`` plus clawtop's blocks."""
    prompt = report.prompt
    files = prompt.bootstrap.files if prompt.bootstrap else ()
    usage = report.usage
    return {
        "report": {
            "source": report.source,
            "generatedAt": datetime.fromtimestamp(report.generated_at, UTC).isoformat().replace("+00:00", "Z"),
            "sessionId": report.session_id,
            "sessionKey": report.session_key,
            "provider": report.model_ref.partition("/")[0],
            "model": report.model_ref.partition("/")[2],
            "workspaceDir": report.workspace_dir,
            "bootstrapMaxChars": report.bootstrap_max_chars,
            "bootstrapTotalMaxChars": report.bootstrap_total_max_chars,
            "sandbox": {"mode": report.sandbox_mode, "sandboxed": report.sandboxed},
            "systemPrompt": {
                "chars": prompt.chars,
                "projectContextChars": prompt.project_context_chars,
                "nonProjectContextChars": prompt.chars - prompt.project_context_chars,
            },
            "injectedWorkspaceFiles": [
                {"name": f.name, "path": f.path, "missing": f.missing, "rawChars": f.raw_chars,
                 "injectedChars": f.injected_chars, "truncated": f.truncated}
                for f in files
            ],
            "skills": {"promptChars": prompt.skills_chars,
                       "entries": [{"name": n, "blockChars": c} for n, c in prompt.skills]},
            "tools": {
                "listChars": prompt.tool_list_chars,
                "schemaChars": prompt.schema_chars,
                "entries": [{"name": t.name, "summaryChars": t.summary_chars, "schemaChars": t.schema_chars,
                             "propertiesCount": t.properties_count} for t in prompt.tools],
            },
        },
        "session": {
            "totalTokens": usage.session_total,
            "totalTokensFresh": usage.total_tokens_fresh,
            "inputTokens": usage.input_tokens,
            "outputTokens": usage.output_tokens,
            "contextTokens": report.window.tokens,
        },
        "window": {"tokens": report.window.tokens, "source": report.window.source,
                   "native": report.window.native, "guard": report.window.guard, **report.extras["guardLevels"]},
        "charsPerToken": {"ratio": report.ratio.ratio, "calibrated": report.ratio.calibrated,
                          "samples": report.ratio.samples, "mode": report.ratio.mode,
                          "lastErrorPct": report.calibration.last_error_pct if report.calibration else None},
        "tokens": {"estimated": report.estimated_tokens, "actual": usage.prompt_tokens,
                   "categories": report.categories},
        "history": {"messages": report.history.messages, "chars": report.history.content_chars,
                    "prunerChars": report.history.chars, "byCategory": report.history.by_category,
                    "toolResultsByTool": report.history.tool_results_by_tool},
        "thresholds": {k: t.to_json() for k, t in report.thresholds.items()},
    }


def render_json(report: ContextReport) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False)


def render(report: ContextReport | None, mode: str | None) -> str:
    """Dispatch ``/context [mode]`` (docs/design/context.md#sub-commands). ``map`` is not implemented: it answers like
    an unknown mode so the user gets the usage line."""
    mode = (mode or "").strip().lower()
    if mode in ("", "help"):
        return CONTEXT_HELP
    if report is None:
        return "No context report yet: this session has not run."
    if mode in ("list", "show"):
        return render_list(report)
    if mode in ("detail", "deep"):
        return render_detail(report)
    if mode == "json":
        return render_json(report)
    return f"Unknown /context mode.\n{USAGE}"
