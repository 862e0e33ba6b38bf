"""The agent's compact step (docs/design/compaction.md#triggers, docs/design/compaction.md#memory-flush): compacting a
session through core.compaction, the threshold check after a turn, the pre-compaction memory flush and the
context-overflow retry budget.

Why the flush and the overflow budget live here and not in core.compaction: both span *turns* —
the flush runs a whole (silent) agent turn, and the overflow budget counts compactions across
the model calls of one run — so they need the runner's turn, which core.compaction never sees.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from core.agent.convert import pi_usage
from core.agent.prune_step import PruneStep
from core.agent.report_step import ReportStep
from core.agent.session_state import SessionStates
from core.agent.transcripts import Transcripts
from core.chat.result import TurnFailed, TurnResult
from core.compaction import (
    MAX_OVERFLOW_COMPACTION_ATTEMPTS,
    CompactionResult,
    FlushState,
    Summarize,
    check_threshold,
    compact,
    context_tokens_from_usage,
    find_cut_point,
    is_context_overflow_error,
    maybe_flush,
)
from core.compaction.cut import start_after_compaction
from core.compaction.events import CompactionTrigger
from core.config.schema.root import ClawtopConfig
from core.context.window import resolve_context_window
from core.events.base import Event
from core.providers.call import ModelAccess, ModelCallFailed, call_model
from core.providers.types import ModelRequest, Usage
from core.sessions.index import SessionEntry
from core.sessions.model import CompactionEntry, Session

__all__ = ["CONTEXT_OVERFLOW", "FLUSH_TRIGGER", "CompactStep", "OverflowBudget", "RunFlushTurn"]

log = logging.getLogger("clawtop.agent")

CONTEXT_OVERFLOW = "context_overflow"
"""``TurnFailed.error_class`` of a request the provider rejected as too large (retry engine hands
it back as ``NonRetryable`` instead of retrying: compaction is the caller's job)."""

FLUSH_TRIGGER = "memory"
"""Trigger of the flush turn (docs/design/compaction.md#memory-flush): it never flushes or threshold-compacts itself."""

RunFlushTurn = Callable[[str, str], Awaitable[TurnResult]]
"""Runs the flush turn: ``(system, user)`` → its result (raises :class:`TurnFailed`)."""


class CompactStep:
    """Compaction of the agent's sessions; the caller holds the session's turn lock."""

    def __init__(self, config: Callable[[], ClawtopConfig], models: ModelAccess, publish: Callable[[Event], None],
                 transcripts: Transcripts, states: SessionStates, pruning: PruneStep, reports: ReportStep) -> None:
        self._config = config
        self._models = models
        self._publish = publish
        self._transcripts = transcripts
        self._states = states
        self._pruning = pruning
        self._reports = reports

    def summarizer(self, ref: str) -> Summarize:
        """The ``summarize`` callable for core.compaction: one model call through the same
        provider + retry + send-safety path as any turn (operation ``chat.send``)."""

        async def summarize(request: ModelRequest) -> str:
            op_id = "compact-" + uuid.uuid4().hex[:8]
            try:
                call = await call_model(self._models, request.messages, refs=[ref], op_id=op_id,
                                        clock=time.monotonic, system=request.system, max_tokens=request.max_tokens)
            except ModelCallFailed as failure:
                raise TurnFailed.of(failure) from failure.__cause__
            return call.text

        return summarize

    async def compact(self, key: str, *, trigger: CompactionTrigger, instructions: str | None = None,
                      ref: str | None = None) -> CompactionResult:
        """Compact session ``key`` and append the compaction entry durably. The compactor works
        on a copy so the cached session only changes through the store's durable append."""
        session = await self._transcripts.open(key)
        ref = ref or self._reports.last_ref(session)
        scratch = Session(session.header, list(session.entries))
        result = await compact(scratch, config=self._config().agents.defaults.compaction,
                               summarize=self.summarizer(ref), model=ref.partition("/")[2], trigger=trigger,
                               instructions=instructions, publish=self._publish)
        if result.entry is not None:
            await self._transcripts.append_entries(session, [result.entry])
            self._pruning.forget_clock(session)
            store = self._transcripts.store
            if store is not None:
                row = await asyncio.to_thread(store.find, session.id)
                count = (row.compaction_count or 0) + 1 if row is not None else 1
                await asyncio.to_thread(lambda: store.update_entry(session.id, compaction_count=count))
            fresh = await self._transcripts.open(key)
            self._reports.report(fresh, key, ref)
        return result

    def needs_compaction(self, ref: str, usage: Usage) -> bool:
        """docs/design/compaction.md#triggers, after a completed turn: the turn's context tokens exceed window −
        reserve."""
        config = self._config()
        window = resolve_context_window(config, ref).tokens
        cfg = config.agents.defaults.compaction
        return check_threshold(context_tokens_from_usage(pi_usage(usage)), window, cfg).compact

    def can_compact(self, session: Session) -> bool:
        """Would :meth:`compact` cut anything? (the compactor's own abort rules, without the
        summary call) — so the memory flush is not spent on a compaction that would abort."""
        path = session.branch()
        if not path or isinstance(path[-1], CompactionEntry):
            return False
        start = start_after_compaction(path)
        cut = find_cut_point(path, self._config().agents.defaults.compaction.keep_recent_tokens, start)
        return cut.first_kept > start and path[cut.first_kept].id is not None

    async def flush_if_due(self, key: str, ref: str, *, new_prompt_chars: int, run_turn: RunFlushTurn,
                           usage: Usage | None = None) -> bool:
        """Run the docs/design/compaction.md#memory-flush memory flush for session ``key`` when its gate says so. Reads
        and writes the row's ``memoryFlushAt``, ``memoryFlushCompactionCount`` and
        ``memoryFlushContextHash``; publishes ``MemoryFlush``. Returns True when a flush turn ran.
        A failed flush turn is logged, not raised: the user's turn (or compaction) must go on,
        and the cycle still counts as flushed so a broken flush cannot cost a model call on
        every turn."""
        config = self._config()
        cfg = config.agents.defaults.compaction
        if not cfg.memory_flush.enabled:
            return False
        session = await self._transcripts.open(key)
        store = self._transcripts.store
        row = await asyncio.to_thread(store.find, session.id) if store is not None else None
        prompt_tokens, last_output = _prompt_tokens(row, session)
        if usage is not None:  # right after a turn: its last call is the freshest figure
            prompt_tokens = max(prompt_tokens, usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens)
            last_output = usage.output_tokens
        compactions = sum(1 for e in session.entries if isinstance(e, CompactionEntry))
        count = max(compactions, (row.compaction_count or 0) if row is not None else 0)
        state_of = self._states[session.id]
        if row is not None:
            state = FlushState(count, row.memory_flush_compaction_count, row.memory_flush_at,
                               row.memory_flush_context_hash)
        else:  # no session store (tests, ephemeral gateway): the session state keeps the fields
            kept = state_of.flush or FlushState()
            state = FlushState(count, kept.memory_flush_compaction_count, kept.memory_flush_at,
                               kept.memory_flush_context_hash)
        transcript_bytes = None
        if store is not None:
            path = store.transcript_path(session.id)
            transcript_bytes = path.stat().st_size if path.exists() else 0

        async def guarded(system: str, user: str) -> TurnResult | None:
            try:
                return await run_turn(system, user)
            except TurnFailed as exc:
                log.warning("memory flush turn failed for session %s: %s", session.id, exc)
                return None

        new = await maybe_flush(cfg, session_id=session.id, context_window=resolve_context_window(config, ref).tokens,
                                prompt_tokens=prompt_tokens, last_output_tokens=last_output,
                                new_prompt_chars=new_prompt_chars, state=state,
                                messages=[m.raw for m in session.messages()], run_turn=guarded,
                                transcript_bytes=transcript_bytes, publish=self._publish)
        if new == state:
            return False
        state_of.flush = new
        if store is not None and row is not None:
            await asyncio.to_thread(lambda: store.update_entry(
                session.id, memory_flush_at=new.memory_flush_at,
                memory_flush_compaction_count=new.memory_flush_compaction_count,
                memory_flush_context_hash=new.memory_flush_context_hash))
        return True


def _prompt_tokens(row: SessionEntry | None, session: Session) -> tuple[int, int]:
    """(prompt tokens, last output tokens): the max of the session row's fresh figure and the
    last assistant usage in the transcript (docs/design/compaction.md#memory-flush — the row alone can be stale,
    #5457)."""
    row_prompt = (row.total_tokens or 0) if row is not None and row.total_tokens_fresh is not False else 0
    row_output = (row.output_tokens or 0) if row is not None else 0
    usage: dict[str, Any] | None = None
    for message in reversed(session.messages()):
        if message.role == "assistant" and isinstance(message.raw.get("usage"), dict):
            usage = message.raw["usage"]
            break
    transcript_output = int((usage or {}).get("output") or 0)
    transcript_prompt = context_tokens_from_usage(usage) - transcript_output if usage else 0
    return max(row_prompt, transcript_prompt), max(row_output, transcript_output) if usage else row_output


class Compacts(Protocol):
    """What the overflow budget needs: a compaction of a session (:meth:`CompactStep.compact`)."""

    async def compact(self, key: str, *, trigger: CompactionTrigger, ref: str) -> CompactionResult: ...


class OverflowBudget:
    """docs/design/compaction.md#overflow-errors: at most ``MAX_OVERFLOW_COMPACTION_ATTEMPTS`` overflow compactions per
    run, so a compaction that does not shrink the context enough cannot loop forever."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_OVERFLOW_COMPACTION_ATTEMPTS if limit is None else limit
        self.used = 0

    @staticmethod
    def is_overflow(failure: ModelCallFailed) -> bool:
        """The classified class is authoritative; the message patterns catch providers whose
        error the classifier filed under a generic bad request."""
        return failure.error_class == CONTEXT_OVERFLOW or (
            failure.error_class == "bad_request" and is_context_overflow_error(failure.message))

    async def recover(self, failure: ModelCallFailed, compactor: Compacts, key: str, ref: str) -> None:
        """Compact after an overflow, or raise the final, explained :class:`TurnFailed` when the
        budget is spent or the compaction could not shrink anything (retrying would fail again)."""
        if self.used >= self.limit:
            raise self._give_up(failure, f"still too large after {self.used} compaction(s)")
        self.used += 1
        result = await compactor.compact(key, trigger="overflow", ref=ref)
        if result.entry is None:
            raise self._give_up(failure, f"compaction could not shrink it ({result.aborted or 'nothing to compact'})")

    def _give_up(self, failure: ModelCallFailed, why: str) -> TurnFailed:
        message = (f"context overflow: the conversation does not fit the model's context window — {why}. "
                   f"Provider said: {failure.message}. Use /compact [instructions] to summarise harder, "
                   f"or /new to start a fresh session.")
        return TurnFailed(message, error_class=CONTEXT_OVERFLOW, model=failure.model, records=failure.records,
                          models=failure.models, status=failure.status, reason="overflow_compaction_exhausted",
                          partial_reply=failure.partial_reply)
