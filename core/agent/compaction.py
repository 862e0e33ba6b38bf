"""The agent loop's compaction policy (pruning spec §3.2, §3.7): the pre-compaction memory flush
and the context-overflow retry budget.

Why a module of its own: :mod:`core.agent.hooks` adapts single calls into core.compaction, while
these two rules span *turns* — the flush runs a whole (silent) agent turn, and the overflow budget
counts compactions across the model calls of one run — so they need the runner, not just hooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from core.chat.result import TurnFailed

if TYPE_CHECKING:
    from core.agent.hooks import ContextHooks
    from core.providers.types import Usage
    from core.sessions.model import Session

__all__ = ["CONTEXT_OVERFLOW", "FLUSH_TRIGGER", "OverflowBudget", "flush_if_due"]

log = logging.getLogger("clawtop.agent")

CONTEXT_OVERFLOW = "context_overflow"
"""``TurnFailed.error_class`` of a request the provider rejected as too large (retry engine hands
it back as ``NonRetryable`` instead of retrying: compaction is the caller's job)."""

FLUSH_TRIGGER = "memory"
"""Trigger of the flush turn (§3.7): it never flushes or threshold-compacts itself."""

RunFlushTurn = Callable[[str, str], Awaitable[Any]]


class OverflowBudget:
    """§3.2.2: at most ``MAX_OVERFLOW_COMPACTION_ATTEMPTS`` overflow compactions per run, so a
    compaction that does not shrink the context enough cannot loop forever."""

    def __init__(self, limit: int | None = None) -> None:
        from core.compaction import MAX_OVERFLOW_COMPACTION_ATTEMPTS
        self.limit = MAX_OVERFLOW_COMPACTION_ATTEMPTS if limit is None else limit
        self.used = 0

    @staticmethod
    def is_overflow(failure: TurnFailed) -> bool:
        """The classified class is authoritative; the message patterns catch providers whose
        error the classifier filed under a generic bad request."""
        from core.compaction import is_context_overflow_error
        return failure.error_class == CONTEXT_OVERFLOW or (
            failure.error_class == "bad_request" and is_context_overflow_error(failure.message))

    async def recover(self, failure: TurnFailed, hooks: ContextHooks, key: str, ref: str) -> None:
        """Compact after an overflow, or raise the final, explained :class:`TurnFailed` when the
        budget is spent or the compaction could not shrink anything (retrying would fail again)."""
        if self.used >= self.limit:
            raise self._give_up(failure, f"still too large after {self.used} compaction(s)")
        self.used += 1
        result = await hooks.compact(key, trigger="overflow", ref=ref)
        if result.entry is None:
            raise self._give_up(failure, f"compaction could not shrink it ({result.aborted or 'nothing to compact'})")

    def _give_up(self, failure: TurnFailed, why: str) -> TurnFailed:
        message = (f"context overflow: the conversation does not fit the model's context window — {why}. "
                   f"Provider said: {failure.message}. Use /compact [instructions] to summarise harder, "
                   f"or /new to start a fresh session.")
        return TurnFailed(message, error_class=CONTEXT_OVERFLOW, model=failure.model, records=failure.records,
                          models=failure.models, status=failure.status, reason="overflow_compaction_exhausted",
                          partial_reply=failure.partial_reply)


def _prompt_tokens(row: Any, session: Session) -> tuple[int, int]:
    """(prompt tokens, last output tokens): the max of the session row's fresh figure and the
    last assistant usage in the transcript (§3.7 — the row alone can be stale, #5457)."""
    from core.compaction import context_tokens_from_usage

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


async def flush_if_due(hooks: ContextHooks, key: str, ref: str, *, new_prompt_chars: int,
                       run_turn: RunFlushTurn, usage: Usage | None = None) -> bool:
    """Run the §3.7 memory flush for session ``key`` when its gate says so (the caller holds the
    session's turn lock). Reads and writes the row's ``memoryFlushAt``,
    ``memoryFlushCompactionCount`` and ``memoryFlushContextHash``; publishes ``MemoryFlush``.
    Returns True when a flush turn ran. A failed flush turn is logged, not raised: the user's
    turn (or compaction) must go on, and the cycle still counts as flushed so a broken flush
    cannot cost a model call on every turn."""
    from core.compaction import FlushState, maybe_flush

    cfg = hooks.gateway.config.agents.defaults.compaction
    if not cfg.memory_flush.enabled:
        return False
    session = await hooks.open_session(key)
    store = hooks.store
    row = await asyncio.to_thread(store.find, session.id) if store is not None else None
    prompt_tokens, last_output = _prompt_tokens(row, session)
    if usage is not None:  # right after a turn: its last call is the freshest figure
        prompt_tokens = max(prompt_tokens, usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens)
        last_output = usage.output_tokens
    compactions = sum(1 for e in session.entries if type(e).__name__ == "CompactionEntry")
    count = max(compactions, (row.compaction_count or 0) if row is not None else 0)
    if row is not None:
        state = FlushState(count, row.memory_flush_compaction_count, row.memory_flush_at,
                           row.memory_flush_context_hash)
    else:  # no session store (tests, ephemeral gateway): the runner's memory keeps the fields
        kept = hooks.flush_states.get(session.id, FlushState())
        state = FlushState(count, kept.memory_flush_compaction_count, kept.memory_flush_at,
                           kept.memory_flush_context_hash)
    transcript_bytes = None
    if store is not None:
        path = store.transcript_path(session.id)
        transcript_bytes = path.stat().st_size if path.exists() else 0

    async def guarded(system: str, user: str) -> Any:
        try:
            return await run_turn(system, user)
        except TurnFailed as exc:
            log.warning("memory flush turn failed for session %s: %s", session.id, exc)
            return None

    new = await maybe_flush(cfg, session_id=session.id, context_window=hooks.window_tokens(ref),
                            prompt_tokens=prompt_tokens, last_output_tokens=last_output,
                            new_prompt_chars=new_prompt_chars, state=state,
                            messages=[m.raw for m in session.messages()], run_turn=guarded,
                            transcript_bytes=transcript_bytes, publish=hooks.gateway.bus.publish)
    if new == state:
        return False
    hooks.flush_states[session.id] = new
    if row is not None:
        await asyncio.to_thread(lambda: store.update_entry(
            session.id, memory_flush_at=new.memory_flush_at,
            memory_flush_compaction_count=new.memory_flush_compaction_count,
            memory_flush_context_hash=new.memory_flush_context_hash))
    return True
