"""The agent's report step: the system prompt a turn is sent with, the calibration fed by each
response, and the context report (``ContextReportUpdated``, ``/context``) after each turn.

Why these belong together: the report attributes every char of a request to its part
(docs/design/context.md#report-data), so it needs the exact prompt the turn was sent with, and calibration compares that
same request with the tokens the provider counted (docs/design/context.md#chars-per-token-calibration).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Literal

from core.agent.prune_step import PruneStep, cache_ttl_eligible, now_ms
from core.agent.session_state import SessionStates
from core.agent.transcripts import Transcripts
from core.config.schema.root import ClawtopConfig
from core.context import ContextAccountant, ContextReport, PruneClock, SessionUsage, render, session_model_ref
from core.context.window import resolve_context_window
from core.providers.types import ToolSpec, Usage
from core.sessions.messages import AgentMessage
from core.sessions.model import Session

__all__ = ["ReportStep"]

log = logging.getLogger("clawtop.agent")

ToolsFor = Callable[[str], Sequence[ToolSpec]]
"""The tools offered to a session key (what its system prompt lists)."""


class ReportStep:
    """System prompt, calibration and context report for the sessions of one agent."""

    def __init__(self, config: Callable[[], ClawtopConfig], context: ContextAccountant, transcripts: Transcripts,
                 states: SessionStates, pruning: PruneStep, tools_for: ToolsFor) -> None:
        self._config = config
        self._context = context
        self._transcripts = transcripts
        self._states = states
        self._pruning = pruning
        self._tools_for = tools_for
        self._reports: dict[str, ContextReport] = {}

    async def system_prompt(self, session: Session, key: str, tools: Sequence[ToolSpec]) -> str:
        """The system prompt with the workspace bootstrap files (core.context, docs/design/context.md#bootstrap-files);
        its parts are kept for calibration and the report."""
        prompt = await asyncio.to_thread(lambda: self._context.system_prompt(key, tools=tools))
        self._states[session.id].prompt = prompt
        return prompt.text

    def observe_usage(self, session: Session, ref: str, sent: Sequence[AgentMessage], usage: Usage) -> None:
        """Feed the response's real token count to calibration (docs/design/context.md#chars-per-token-calibration):
        chars of the whole request (history docs/design/pruning.md#character-estimate + system prompt + tool schemas)
        against the actual prompt tokens."""
        state = self._states.get(session.id)
        if state is None or state.prompt is None:
            return
        try:
            self._context.observe_usage(ref, state.prompt, session.id, [m.raw for m in sent], usage)
        except OSError:  # the calibration file could not be written: the average still applies
            log.warning("calibration state not saved", exc_info=True)

    async def after_turn(self, session: Session, key: str, ref: str, usage: Usage) -> ContextReport:
        """After a finished turn: refresh the session row's token counters, build and publish
        the context report (``ContextReportUpdated``) with the actual input tokens."""
        fresh = await self._transcripts.reopen(key, session)
        last = SessionUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                            cache_read=usage.cache_read_tokens, cache_write=usage.cache_write_tokens)
        window = resolve_context_window(self._config(), ref).tokens
        store = self._transcripts.store
        if store is not None:
            await asyncio.to_thread(lambda: store.update_entry(
                session.id, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                cache_read=usage.cache_read_tokens, cache_write=usage.cache_write_tokens,
                total_tokens=last.prompt_tokens, total_tokens_fresh=True, context_tokens=window,
                last_interaction_at=now_ms()))
        return self.report(fresh, key, ref, usage=last, source="run")

    def report(self, session: Session, key: str, ref: str, *, usage: SessionUsage | None = None,
               source: Literal["run", "estimate"] = "estimate", publish: bool = True) -> ContextReport:
        """Build (and by default publish) the session's context report; kept for ``/context``."""
        state = self._states[session.id]
        prompt = state.prompt or self._context.system_prompt(key, tools=self._tools_for(key))
        state.prompt = prompt
        config = self._config()
        pruning = config.agents.defaults.context_pruning
        clock = PruneClock(mode=pruning.mode, ttl_ms=pruning.ttl_ms,
                           ms_since_touch=self._pruning.ms_since_touch(session),
                           eligible=cache_ttl_eligible(config, ref))
        report = self._context.report(
            session.id, [m.raw for m in session.messages()], model_ref=ref, prompt=prompt, usage=usage,
            source=source, session_key=key, prune_clock=clock, publish=publish)
        self._reports[key] = report
        return report

    def forget(self, key: str) -> None:
        """``/new``: the key's last report describes the old session."""
        self._reports.pop(key, None)

    async def context_text(self, key: str, mode: str | None) -> str:
        """``/context [list|detail|json]`` for session ``key`` (core.context renders it): the
        last run's report, else an estimate built from the stored transcript."""
        report = self._reports.get(key)
        if report is None and (mode or "").strip().lower() not in ("", "help"):
            session = await self._transcripts.open(key)
            ref = self.last_ref(session)
            report = await asyncio.to_thread(lambda: self.report(session, key, ref, publish=False))
        return render(report, mode)

    def last_ref(self, session: Session) -> str:
        """The model the session last ran on (else the configured primary)."""
        return session_model_ref([m.raw for m in session.messages()], self._config())

