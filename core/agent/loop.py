"""The agent turn: the one implementation behind the dashboard's chat and ``clawtop send``.

Per turn (docs/design/pruning.md#when-the-hook-runs, docs/design/pruning.md#the-ttl-clock,
docs/design/compaction.md#triggers):

1. wait for the session's turn (:class:`~core.agent.scheduler.TurnScheduler` in this process,
   the session's turn lock across processes);
2. open the session transcript, build the system prompt (core.context) and the context
   messages (compaction applied by the session model);
3. before **every** model call — the first and each tool-loop continuation — run the prune hook
   (core.pruning, TTL clock from the transcript's cache-touch markers) on the context;
4. call the model through :func:`core.providers.call.call_model` (retry, send safety,
   failover — the same path for everyone), tools offered;
5. on tool calls run the tools (workspace files; ``exec`` in the session's sandbox), append
   ``toolResult`` messages, loop until a final answer or ``agents.defaults.maxToolIterations``;
6. append everything to the transcript durably as it is produced, feed usage to calibration,
   append the cache-touch marker, check the compaction threshold and publish the context report.

Durability choice: the user message is written together with the first assistant message. A
turn whose first model call fails therefore leaves no trace in the transcript — resending does
not duplicate the question — while everything after a successful call (tool results included)
is on disk before the next call starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.agent.compaction import FLUSH_TRIGGER, CompactStep, OverflowBudget
from core.agent.convert import assistant_message, to_chat_messages, tool_result_message
from core.agent.events import AgentToolCalled, ToolRefused
from core.agent.prune_step import PruneStep, TouchedText
from core.agent.report_step import ReportStep
from core.agent.scheduler import TurnScheduler
from core.agent.session_state import SessionStates
from core.agent.tools import ToolContext, Workspace, run_tool, tool_specs
from core.agent.transcripts import Transcripts
from core.chat.events import ChatTurnFinished, ChatTurnStarted, TurnOutcome
from core.chat.result import TurnFailed, TurnResult
from core.compaction import CompactionResult
from core.config.schema.root import ClawtopConfig
from core.context import ContextAccountant
from core.events.base import Event
from core.providers.call import ModelAccess, ModelCallFailed, call_model, model_refs
from core.providers.types import ToolCall, ToolSpec, Usage
from core.pruning import PruneDecision
from core.retry.records import OperationRecord
from core.sandbox.api import SandboxManager
from core.sessions.messages import AgentMessage
from core.sessions.model import Session
from core.sessions.store import SessionStore

__all__ = ["DEFAULT_SESSION_KEY", "AgentRunner", "OnDelta", "OnTool"]

log = logging.getLogger("clawtop.agent")

DEFAULT_SESSION_KEY = "main"
OnDelta = Callable[[str], None]
OnTool = Callable[[dict[str, Any]], None]
"""Called with each finished tool call's summary (``toolCallId``, ``name``, ``isError``, ``chars``)."""

CAP_NOTE = "tool call not run: the turn reached agents.defaults.maxToolIterations"


@dataclasses.dataclass(slots=True)
class _Turn:
    """Book-keeping of one turn across its model calls."""

    turn_id: str
    started: float
    records: list[tuple[str, OperationRecord]] = dataclasses.field(default_factory=list)
    usage: Usage = dataclasses.field(default_factory=Usage)
    last_usage: Usage = dataclasses.field(default_factory=Usage)
    first_token_at: float | None = None
    tool_calls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    calls: int = 0


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens,
                 a.cache_read_tokens + b.cache_read_tokens, a.cache_write_tokens + b.cache_write_tokens,
                 a.estimated or b.estimated)


class AgentRunner:
    """Runs agent turns. The gateway builds it with what a turn uses: the config in force, where
    events go, the session store (None: sessions in memory only), context accounting, model
    access, the sandbox manager (None: sandboxing off or not running), the workspace and the set
    of running turns the gateway cancels on stop."""

    def __init__(self, *, config: Callable[[], ClawtopConfig], publish: Callable[[Event], None],
                 sessions: SessionStore | None, context: ContextAccountant, models: ModelAccess,
                 sandbox: Callable[[], SandboxManager | None], workspace: Callable[[], Path],
                 inflight: set[asyncio.Task[object]], clock: Callable[[], float] = time.monotonic,
                 settings_version: Callable[[], str | None] = lambda: None) -> None:
        self._config = config
        self._publish = publish
        self._models = models
        self._sandbox = sandbox
        self._inflight = inflight
        self._clock = clock
        self.scheduler = TurnScheduler(config().agents.defaults.max_concurrent)
        states = SessionStates()
        self._transcripts = Transcripts(sessions, workspace)
        self._pruning = PruneStep(config, publish, self._transcripts, states, settings_version)
        self._reports = ReportStep(config, context, self._transcripts, states, self._pruning, self.tool_specs)
        self._compaction = CompactStep(config, models, publish, self._transcripts, states, self._pruning,
                                       self._reports)

    @property
    def workspace(self) -> Workspace:
        """The workspace tools are confined to (created on first use)."""
        root = self._transcripts.workspace_dir()
        root.mkdir(parents=True, exist_ok=True)
        return Workspace(root)

    def sandbox_for(self, session_key: str) -> SandboxManager | None:
        """The sandbox manager when ``session_key`` runs its tools sandboxed
        (docs/design/sandbox.md#which-sessions-are-sandboxed), else None — which also decides whether ``exec`` is
        offered."""
        manager = self._sandbox()
        if manager is None or not manager.is_sandboxed(session_key, main_key=DEFAULT_SESSION_KEY):
            return None
        return manager

    def tool_specs(self, session_key: str) -> tuple[ToolSpec, ...]:
        """The tools offered to ``session_key`` (``exec`` only when it is sandboxed)."""
        return tool_specs(self.sandbox_for(session_key) is not None)

    # -- views for the front ends (no I/O) --------------------------------------------------------

    def cached_session(self, key: str) -> Session | None:
        """The session last opened under ``key`` by a turn (for views: no I/O)."""
        return self._transcripts.cached(key)

    def prune_detail(self, decision: PruneDecision) -> list[TouchedText] | None:
        """Before/after text per touched result of a prune decision this gateway made, else None
        (a decision replayed from the store, or one evicted from memory)."""
        return self._pruning.detail(decision)

    # -- commands -----------------------------------------------------------------------------------

    async def new_session(self, session_key: str = DEFAULT_SESSION_KEY) -> str:
        """``/new``: a fresh session under ``session_key`` (the old transcript stays on disk);
        returns its id."""
        session = await self._transcripts.new(session_key)
        self._reports.forget(session_key)
        return session.id

    async def run_turn(self, text: str, *, session_key: str = DEFAULT_SESSION_KEY, model_ref: str | None = None,
                       on_delta: OnDelta | None = None, on_tool: OnTool | None = None,
                       system: str | None = None) -> TurnResult:
        """One user turn. Returns the final reply; raises :class:`TurnFailed` when a model call
        got no answer (tool results already produced stay in the transcript)."""
        async with self.scheduler.turn(session_key), self._transcripts.hold(session_key):
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                return await self._turn(text, session_key, model_ref, on_delta, on_tool, system)
            finally:
                if task is not None:
                    self._inflight.discard(task)

    async def _turn(self, text: str, session_key: str, model_ref: str | None, on_delta: OnDelta | None,
                    on_tool: OnTool | None, system_override: str | None, trigger: str = "user") -> TurnResult:
        if self._models.providers() is None:
            raise RuntimeError("the gateway is not running: start it before sending")
        config = self._config()
        refs = model_refs(config, model_ref)
        cap = config.agents.defaults.max_tool_iterations
        turn = _Turn(turn_id=uuid.uuid4().hex[:12], started=self._clock())
        overflow = OverflowBudget()
        try:
            session = await self._transcripts.open(session_key)
            workspace = await asyncio.to_thread(lambda: self.workspace)
            specs = self.tool_specs(session_key)
            prompt_text = await self._reports.system_prompt(session, session_key, specs)
        except asyncio.CancelledError:
            self._finished(turn, refs[0], "cancelled")
            raise
        system = system_override if system_override is not None else prompt_text
        history = session.messages()
        self._pruning.begin_run(session, refs[0])
        self._publish(ChatTurnStarted(turn_id=turn.turn_id, model=refs[0], history_messages=len(history),
                                            chars=len(text)))
        pending: list[AgentMessage] = [AgentMessage.user(text)]
        context = [*history]
        reply, stop_reason, ref = "", None, refs[0]
        tool_context = ToolContext(session_key=session_key, sandbox=self.sandbox_for(session_key))
        try:
            for iteration in range(cap + 1):
                context_now = [*context, *pending] if iteration == 0 else context
                sent = await self._pruning.prune(session, context_now, ref=ref)
                op_id = turn.turn_id if turn.calls == 0 else f"{turn.turn_id}.c{turn.calls}"
                while True:
                    try:
                        call = await call_model(self._models, to_chat_messages(sent), refs=refs, op_id=op_id,
                                                clock=self._clock, system=system, tools=specs, on_delta=on_delta)
                        break
                    except ModelCallFailed as failure:
                        # docs/design/compaction.md#overflow-errors: the failed request left nothing in the transcript;
                        # compact it and resend the same step (the turn's unsaved user message stays pending).
                        if not OverflowBudget.is_overflow(failure):
                            raise TurnFailed.of(failure) from failure.__cause__
                        await overflow.recover(failure, self._compaction, session_key, ref)  # raises when spent
                        turn.records.extend(zip(failure.models, failure.records, strict=True))
                        session = await self._transcripts.open(session_key)
                        context = session.messages()
                        sent = await self._pruning.prune(session, [*context, *pending], ref=ref)
                        op_id = f"{turn.turn_id}.o{overflow.used}"
                turn.calls += 1
                ref = call.ref
                turn.records.extend(zip(call.models, call.records, strict=True))
                turn.usage, turn.last_usage = _add(turn.usage, call.usage), call.usage
                if turn.first_token_at is None:
                    turn.first_token_at = call.first_token_at
                self._reports.observe_usage(session, ref, sent, call.usage)
                assistant = assistant_message(call.text, call.tool_calls, ref=ref, usage=call.usage,
                                              stop_reason=call.stop_reason)
                if iteration == 0:
                    context = [*context, *pending]
                    await self._transcripts.append(session, [*pending, assistant])
                    pending = []
                else:
                    await self._transcripts.append(session, [assistant])
                context.append(assistant)
                reply, stop_reason = call.text, call.stop_reason
                if not call.tool_calls:
                    break
                results = [await self._run_tool(session.id, workspace, c, iteration, turn, on_tool,
                                                capped=iteration >= cap, context=tool_context)
                           for c in call.tool_calls]
                await self._transcripts.append(session, results)
                context.extend(results)
                if iteration >= cap:
                    stop_reason = "max_tool_iterations"
                    reply = reply or f"(stopped: {cap} tool iterations reached without a final answer)"
                    break
        except TurnFailed as failure:
            failure.session_id = session.id
            self._finished(turn, failure.model, "fail", failure=failure, extra=failure.records, models=failure.models)
            failure.records = [r for _, r in turn.records] + failure.records
            failure.models = [m for m, _ in turn.records] + failure.models
            raise
        except asyncio.CancelledError:
            self._finished(turn, ref, "cancelled")
            raise
        finally:
            if turn.calls:
                await self._pruning.after_attempt(session, ref, compacted=overflow.used > 0)
        result = TurnResult(
            reply=reply, usage=turn.usage, model=ref, stop_reason=stop_reason,
            ttft_ms=_ms(turn.first_token_at - turn.started) if turn.first_token_at is not None else None,
            latency_ms=_ms(self._clock() - turn.started), record=turn.records[-1][1],
            records=[r for _, r in turn.records], models=[m for m, _ in turn.records], turn_id=turn.turn_id,
            session_id=session.id, session_key=session_key, tool_calls=turn.tool_calls,
            last_usage=turn.last_usage,
        )
        self._finished(turn, ref, "ok", result=result)
        await self._reports.after_turn(session, session_key, ref, turn.last_usage)
        if trigger != FLUSH_TRIGGER:
            await self._maybe_compact(session_key, refs, model_ref, ref, turn.last_usage)
        return result

    async def _maybe_compact(self, key: str, refs: list[str], model_ref: str | None, ref: str,
                             usage: Usage) -> CompactionResult | None:
        """The threshold compaction after a turn (docs/design/compaction.md#threshold-after-a-turn),
        preceded by the memory flush (docs/design/compaction.md#memory-flush; once per compaction cycle)
        so durable notes are written before the history they come from is summarised away. The flush
        is skipped when the compaction would abort anyway (nothing to cut): no history is lost."""
        compaction = self._compaction
        if not compaction.needs_compaction(ref, usage):
            return None
        session = await self._transcripts.open(key)
        if compaction.can_compact(session):
            await self._flush(key, refs, model_ref, 0, usage=usage)
        return await compaction.compact(key, trigger="threshold", ref=ref)

    async def _flush(self, key: str, refs: list[str], model_ref: str | None, prompt_chars: int, *,
                     usage: Usage | None = None) -> bool:
        """Run the memory-flush gate; the flush turn is a silent agent turn (no deltas, trigger
        ``memory``) through the same model path, with the flush instructions appended to the
        session's own system prompt (its tools and workspace rules still apply).

        Only called before a threshold compaction that will cut history: the "before each user turn" gate of
        docs/design/compaction.md#memory-flush would flush on every fresh cycle of small-window sessions whose
        compaction cannot cut anything yet (it is not wired; see the module docstring)."""
        async def run_flush(system: str, user: str) -> TurnResult:
            session = await self._transcripts.open(key)
            base = await self._reports.system_prompt(session, key, self.tool_specs(key))
            return await self._turn(user, key, model_ref, None, None, f"{base}\n\n{system}", trigger=FLUSH_TRIGGER)

        return await self._compaction.flush_if_due(key, refs[0], new_prompt_chars=prompt_chars, run_turn=run_flush,
                                                   usage=usage)

    async def compact(self, session_key: str = DEFAULT_SESSION_KEY,
                      instructions: str | None = None) -> CompactionResult:
        """``/compact [instructions]``: force a compaction of the session, in its turn order
        (never in the middle of a running turn). Returns core.compaction's result."""
        async with self.scheduler.turn(session_key), self._transcripts.hold(session_key):
            return await self._compaction.compact(session_key, trigger="manual", instructions=instructions or None)

    async def context_text(self, session_key: str = DEFAULT_SESSION_KEY, mode: str | None = "list") -> str:
        """``/context [list|detail|json]`` for a session (core.context renders it)."""
        return await self._reports.context_text(session_key, mode)

    async def _run_tool(self, session_id: str, workspace: Workspace, call: ToolCall, iteration: int, turn: _Turn,
                        on_tool: OnTool | None, *, capped: bool, context: ToolContext | None = None) -> AgentMessage:
        started = self._clock()
        if capped:
            text, is_error = CAP_NOTE, True
        else:
            outcome = await run_tool(workspace, call.name, call.input, context)
            text, is_error = outcome.text, outcome.is_error
            if outcome.refused is not None:
                log.warning("tool %s refused path %r (%s), session %s", call.name, outcome.refused.path,
                            outcome.refused.reason, session_id)
                self._publish(ToolRefused(tool=call.name, path=outcome.refused.path,
                                          reason=outcome.refused.reason, session_id=session_id))
        summary = {"toolCallId": call.id, "name": call.name, "input": dict(call.input), "isError": is_error,
                   "chars": len(text), "iteration": iteration + 1}
        turn.tool_calls.append(summary)
        self._publish(AgentToolCalled(tool=call.name, tool_call_id=call.id, session_id=session_id,
                                      is_error=is_error, result_chars=len(text),
                                      duration_ms=_ms(self._clock() - started), iteration=iteration + 1))
        if on_tool is not None:
            on_tool(summary)
        return tool_result_message(call, text, is_error=is_error)

    def _finished(self, turn: _Turn, model: str, outcome: TurnOutcome, *, result: TurnResult | None = None,
                  failure: TurnFailed | None = None, extra: list[OperationRecord] | None = None,
                  models: list[str] | None = None) -> None:
        records = [r for _, r in turn.records] + list(extra or ())
        usage = turn.usage
        self._publish(ChatTurnFinished(
            turn_id=turn.turn_id, model=model, outcome=outcome,
            op_id=records[-1].op_id if records else None,
            attempts=sum(len(r.attempts) for r in records),
            stop_reason=result.stop_reason if result is not None else None,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
            ttft_ms=_ms(turn.first_token_at - turn.started) if turn.first_token_at is not None else None,
            latency_ms=_ms(self._clock() - turn.started),
            error_class=failure.error_class if failure is not None else None,
            error=failure.message if failure is not None else "",
        ))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
