"""Context-window accounting: token estimates, window resolution and guard, bootstrap-file
injection, the system prompt's parts, chars-per-token calibration and the ``/context`` report
(docs/design/context.md#the-context-report, docs/design/context.md#token-estimates,
docs/design/context.md#chars-per-token-calibration, docs/design/context.md#distance-to-every-threshold).

Entry point for the agent loop, chat and dashboard: :class:`ContextAccountant`.
"""

from core.context.accountant import (
    ContextAccountant,
    default_workspace,
    report_for_stored_session,
    session_model_ref,
)
from core.context.bootstrap import BootstrapFile, BootstrapResult, load_bootstrap, render_project_context
from core.context.calibration import Calibrator, CharsPerToken, ModelCalibration, actual_prompt_tokens
from core.context.estimate import (
    CHARS_PER_TOKEN_ESTIMATE,
    MessageEstimate,
    estimate_message,
    estimate_text_chars,
    tokens_from_chars,
)
from core.context.events import ContextCalibrated, ContextReportUpdated, ContextWindowGuard
from core.context.history import HistoryEstimator, HistoryTotals
from core.context.render import render, render_detail, render_json, render_list
from core.context.report import ContextReport, PruneClock, SessionUsage, Threshold, build_report
from core.context.system_prompt import SkillSpec, SystemPrompt, ToolSpec, build_system_prompt
from core.context.window import (
    ContextWindow,
    ContextWindowTooSmall,
    guard_context_window,
    guard_level,
    resolve_context_window,
)

__all__ = [
    "CHARS_PER_TOKEN_ESTIMATE",
    "BootstrapFile",
    "BootstrapResult",
    "Calibrator",
    "CharsPerToken",
    "ContextAccountant",
    "ContextCalibrated",
    "ContextReport",
    "ContextReportUpdated",
    "ContextWindow",
    "ContextWindowGuard",
    "ContextWindowTooSmall",
    "HistoryEstimator",
    "HistoryTotals",
    "MessageEstimate",
    "ModelCalibration",
    "PruneClock",
    "SessionUsage",
    "SkillSpec",
    "SystemPrompt",
    "Threshold",
    "ToolSpec",
    "actual_prompt_tokens",
    "build_report",
    "build_system_prompt",
    "default_workspace",
    "estimate_message",
    "estimate_text_chars",
    "guard_context_window",
    "guard_level",
    "load_bootstrap",
    "render",
    "render_detail",
    "render_json",
    "render_list",
    "render_project_context",
    "report_for_stored_session",
    "resolve_context_window",
    "session_model_ref",
    "tokens_from_chars",
]
