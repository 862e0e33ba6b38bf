"""``ContextAccountant``: the one object the agent loop, ``/context`` and the dashboard use.

It owns the per-session caches (bootstrap file set per session key, incremental history
estimate per session id) and the gateway's :class:`Calibrator`, and turns them into a
:class:`ContextReport` on demand. Typical run::

    acc = ContextAccountant(config, calibrator=Calibrator.in_state_dir(state), publish=bus.publish)
    window = acc.window(model_ref)              # raises ContextWindowTooSmall below 16000
    prompt = acc.system_prompt(session_key, tools=tool_specs)
    ... send prompt.text + session.messages() ...
    acc.observe_usage(model_ref, prompt, session.id, session.messages(), usage)
    report = acc.report(session.id, session.messages(), model_ref=model_ref, prompt=prompt,
                        usage=SessionUsage(...), source="run")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from core.config.schema import ClawtopConfig
from core.context.bootstrap import BootstrapResult, load_bootstrap
from core.context.calibration import Calibrator, actual_prompt_tokens
from core.context.history import HistoryEstimator, HistoryTotals
from core.context.report import ContextReport, PruneClock, SessionUsage, build_report
from core.context.system_prompt import DEFAULT_BASE_PROMPT, SkillSpec, SystemPrompt, ToolSpec, build_system_prompt
from core.context.window import ContextWindow, guard_context_window, resolve_context_window
from core.events.base import Event

__all__ = ["ContextAccountant", "default_workspace", "report_for_stored_session", "session_model_ref"]


def default_workspace(config: ClawtopConfig, state_dir: Path | None) -> Path | None:
    """``agents.defaults.workspace`` (``~`` expanded), else ``<state dir>/workspace``."""
    configured = config.agents.defaults.workspace
    if configured:
        return Path(configured).expanduser()
    return Path(state_dir) / "workspace" if state_dir is not None else None


class ContextAccountant:
    """Context accounting for every session of one gateway (not thread-safe; one event loop)."""

    def __init__(
        self,
        config: ClawtopConfig,
        *,
        state_dir: Path | None = None,
        calibrator: Calibrator | None = None,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.calibrator = calibrator or Calibrator(publish=publish)
        self._publish = publish
        self._bootstrap: dict[str, BootstrapResult] = {}
        self._history: dict[str, HistoryEstimator] = {}
        self._warned: set[str] = set()

    def reconfigure(self, config: ClawtopConfig) -> None:
        """Hot reload: new caps apply to the next bootstrap load."""
        self.config = config
        self._bootstrap.clear()

    # -- building blocks ------------------------------------------------------------------
    def window(self, model_ref: str, **runtime: int | None) -> ContextWindow:
        """Resolve and guard the window (publishes the guard event; raises below 16000)."""
        return guard_context_window(resolve_context_window(self.config, model_ref, **runtime), self._publish)

    def bootstrap(self, session_key: str, *, reload: bool = False) -> BootstrapResult | None:
        """The session's workspace files, loaded once per session key (docs/design/context.md#bootstrap-files: cached
        until the session rolls over — call :meth:`forget` then)."""
        workspace = default_workspace(self.config, self.state_dir)
        if workspace is None:
            return None
        if reload or session_key not in self._bootstrap:
            d = self.config.agents.defaults
            self._bootstrap[session_key] = load_bootstrap(workspace, d.bootstrap_max_chars, d.bootstrap_total_max_chars)
        return self._bootstrap[session_key]

    def system_prompt(
        self,
        session_key: str,
        *,
        tools: Sequence[ToolSpec] = (),
        skills: Sequence[SkillSpec] = (),
        base: str = DEFAULT_BASE_PROMPT,
    ) -> SystemPrompt:
        """Build the prompt; the truncation notice follows ``bootstrapPromptTruncationWarning``."""
        boot = self.bootstrap(session_key)
        mode = self.config.agents.defaults.bootstrap_prompt_truncation_warning
        notice = mode == "always" or (mode == "once" and session_key not in self._warned)
        if notice and boot is not None and boot.truncated:
            self._warned.add(session_key)
        return build_system_prompt(base=base, tools=tools, skills=skills, bootstrap=boot, truncation_notice=notice)

    def history(self, session_id: str, messages: Sequence[Any] | None = None) -> HistoryEstimator:
        """The session's incremental estimator, updated with ``messages`` when given."""
        est = self._history.get(session_id)
        if est is None:
            est = self._history[session_id] = HistoryEstimator()
        if messages is not None:
            est.update(messages)
        return est

    def forget(self, session_id: str, session_key: str | None = None) -> None:
        """Drop a session's caches (reset, delete, roll-over)."""
        self._history.pop(session_id, None)
        if session_key is not None:
            self._bootstrap.pop(session_key, None)
            self._warned.discard(session_key)

    def request_chars(self, prompt: SystemPrompt, totals: HistoryTotals) -> int:
        """Estimated chars of a whole request (docs/design/context.md#chars-per-token-calibration): pruner history +
        prompt + schemas."""
        return totals.chars + prompt.chars + prompt.schema_chars

    # -- after a response -----------------------------------------------------------------
    def observe_usage(
        self, model_ref: str, prompt: SystemPrompt, session_id: str, messages: Sequence[Any], usage: Any
    ) -> None:
        """Feed one response's usage (``core.providers.types.Usage`` or a pi usage dict) to the
        calibrator. ``messages`` are those that were *sent* (before the reply was appended)."""
        totals = self.history(session_id, messages).totals
        self.calibrator.observe(
            model_ref,
            self.request_chars(prompt, totals),
            actual_prompt_tokens(usage),
            has_images=totals.image_count > 0,
        )

    # -- the report ------------------------------------------------------------------------
    def report(
        self,
        session_id: str,
        messages: Sequence[Any],
        *,
        model_ref: str,
        prompt: SystemPrompt,
        usage: SessionUsage | None = None,
        source: Literal["run", "estimate"] = "estimate",
        session_key: str = "",
        prune_clock: PruneClock | None = None,
        memory_flushed_this_cycle: bool | None = None,
        publish: bool = True,
    ) -> ContextReport:
        """Build the report (incremental history) and publish ``ContextReportUpdated``."""
        estimator = self.history(session_id, messages)
        ratio = self.calibrator.chars_per_token(model_ref, self.config.context_accounting.chars_per_token)
        report = build_report(
            self.config,
            prompt=prompt,
            history=estimator.totals,
            estimates=estimator.estimates,
            window=resolve_context_window(self.config, model_ref),
            ratio=ratio,
            calibration=self.calibrator.get(model_ref),
            usage=usage,
            source=source,
            session_id=session_id,
            session_key=session_key or session_id,
            prune_clock=prune_clock,
            memory_flushed_this_cycle=memory_flushed_this_cycle,
        )
        if publish and self._publish is not None:
            self._publish(report.to_event())
        return report


def session_model_ref(messages: Sequence[Any], config: ClawtopConfig) -> str:
    """The model that answered last in ``messages`` (``provider/model`` of the newest assistant
    message whose ref is configured), else ``agents.defaults.model.primary``."""
    for message in reversed(messages):
        raw = getattr(message, "raw", message)
        if isinstance(raw, dict) and raw.get("role") == "assistant" and raw.get("provider") and raw.get("model"):
            ref = f"{raw['provider']}/{raw['model']}"
            if config._ref_problem(ref) is None:
                return ref
    return config.agents.defaults.model.primary


def _last_transcript_usage(messages: Sequence[Any]) -> SessionUsage | None:
    """Usage of the newest assistant message (when the index row has none yet)."""
    for message in reversed(messages):
        raw = getattr(message, "raw", message)
        if isinstance(raw, dict) and raw.get("role") == "assistant" and isinstance(raw.get("usage"), dict):
            u = raw["usage"]
            if u.get("input") is None:
                return None
            return SessionUsage(input_tokens=int(u.get("input") or 0), output_tokens=int(u.get("output") or 0),
                                cache_read=int(u.get("cacheRead") or 0), cache_write=int(u.get("cacheWrite") or 0))
    return None


def report_for_stored_session(
    config: ClawtopConfig,
    *,
    state_dir: Path,
    session: Any,
    row: Any | None = None,
    calibrator: Calibrator | None = None,
    tools: Sequence[ToolSpec] = (),
) -> ContextReport:
    """``source: "estimate"`` report of a session read from disk (``clawtop context``): the
    prompt is rebuilt from the current workspace files, usage comes from the index row."""
    acc = ContextAccountant(config, state_dir=state_dir, calibrator=calibrator or Calibrator.in_state_dir(state_dir))
    messages = session.messages()
    key = getattr(row, "key", "") or session.id
    prompt = acc.system_prompt(key, tools=tools)
    usage = SessionUsage.from_entry(row) if row is not None else None
    if usage is None or usage.prompt_tokens is None:
        usage = _last_transcript_usage(messages) or usage
    flushed = None
    if row is not None and row.memory_flush_compaction_count is not None:
        flushed = row.memory_flush_compaction_count == (row.compaction_count or 0)
    return acc.report(
        session.id, messages, model_ref=session_model_ref(messages, config), prompt=prompt,
        usage=usage, session_key=key, memory_flushed_this_cycle=flushed, publish=False,
    )
