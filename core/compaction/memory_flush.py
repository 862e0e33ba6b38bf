"""Pre-compaction memory flush (docs/design/compaction.md#memory-flush): a silent agent turn that writes durable notes
to ``memory/<today>.md`` before old history is summarised away.

This module decides *whether* to flush and builds the code-owned prompts; the turn itself is run
by the agent loop through the ``run_turn`` callable of :func:`maybe_flush`, since it needs tools.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.compaction.events import MemoryFlush
from core.config.schema.sizes import byte_size

if TYPE_CHECKING:
    from core.config.schema.compaction import CompactionConfig
    from core.events.base import Event

__all__ = ["FlushPlan", "FlushState", "context_hash", "flush_prompts", "maybe_flush", "plan_flush"]

NO_REPLY = "NO_REPLY"


@dataclass(frozen=True, slots=True)
class FlushState:
    """Session-row fields (docs/design/sessions.md#session-row-fields) the gate reads and :func:`maybe_flush` returns
    updated."""

    compaction_count: int = 0
    memory_flush_compaction_count: int | None = None
    memory_flush_at: int | None = None
    memory_flush_context_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FlushPlan:
    flush: bool
    reason: str
    projected_tokens: int
    threshold_tokens: int


def plan_flush(cfg: CompactionConfig, *, context_window: int, prompt_tokens: int, last_output_tokens: int,
               new_prompt_chars: int, state: FlushState, transcript_bytes: int | None = None,
               heartbeat: bool = False) -> FlushPlan:
    """threshold = window − reserveTokensFloor − softThresholdTokens; projected = prompt tokens
    + last output + chars/4 of the new prompt; at most once per compaction cycle."""
    mf = cfg.memory_flush
    threshold = context_window - cfg.reserve_tokens_floor - mf.soft_threshold_tokens
    projected = prompt_tokens + last_output_tokens + new_prompt_chars // 4

    def plan(flush: bool, reason: str) -> FlushPlan:
        return FlushPlan(flush, reason, projected, threshold)

    if not mf.enabled:
        return plan(False, "disabled")
    if heartbeat:
        return plan(False, "heartbeat")
    if state.memory_flush_compaction_count == state.compaction_count:
        return plan(False, "already_flushed_this_cycle")
    if (mf.force_flush_transcript_bytes is not None and transcript_bytes is not None
            and transcript_bytes >= byte_size(mf.force_flush_transcript_bytes)):
        return plan(True, "transcript_bytes")
    if context_window > 0 and projected >= threshold:
        return plan(True, "threshold")
    return plan(False, "below_threshold")


def flush_prompts(now: dt.datetime) -> tuple[str, str]:
    """(system prompt, user prompt) of the flush turn — code-owned, not configurable."""
    today = now.strftime("%Y-%m-%d")
    system = ("Pre-compaction memory flush. The session is near its context limit and older history will "
              "soon be summarised. Store durable memories now.")
    user = (f"Write any lasting facts, decisions, preferences and open tasks worth remembering to "
            f"memory/{today}.md (append only; create it if missing). Treat MEMORY.md, SOUL.md, TOOLS.md, "
            f"AGENTS.md and other workspace files as read-only. If there is nothing to store, reply "
            f"{NO_REPLY}. Current time: {now.isoformat(timespec='seconds')}.")
    return system, user


def context_hash(messages: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the message count + the last 3 user/assistant messages, 16 hex chars."""
    recent = [m for m in messages if m.get("role") in ("user", "assistant")][-3:]
    h = hashlib.sha256(str(len(messages)).encode())
    for m in recent:
        h.update(repr((m.get("role"), m.get("content"))).encode())
    return h.hexdigest()[:16]


async def maybe_flush(cfg: CompactionConfig, *, session_id: str, context_window: int, prompt_tokens: int,
                      last_output_tokens: int, new_prompt_chars: int, state: FlushState,
                      messages: Sequence[Mapping[str, Any]], run_turn: Callable[[str, str], Awaitable[Any]],
                      now: dt.datetime | None = None, transcript_bytes: int | None = None,
                      heartbeat: bool = False, publish: Callable[[Event], None] | None = None) -> FlushState:
    """Check the gate, run the flush turn if due (``run_turn(system, user)``), emit
    :class:`MemoryFlush`, and return the updated session-row state."""
    plan = plan_flush(cfg, context_window=context_window, prompt_tokens=prompt_tokens,
                      last_output_tokens=last_output_tokens, new_prompt_chars=new_prompt_chars, state=state,
                      transcript_bytes=transcript_bytes, heartbeat=heartbeat)
    digest = context_hash(messages) if plan.flush else ""
    if plan.flush:
        now = now or dt.datetime.now().astimezone()
        await run_turn(*flush_prompts(now))
        state = FlushState(state.compaction_count, state.compaction_count, int(now.timestamp() * 1000), digest)
    if publish is not None:
        publish(MemoryFlush(session_id=session_id, outcome="ran" if plan.flush else "skipped", reason=plan.reason,
                            projected_tokens=plan.projected_tokens, threshold_tokens=plan.threshold_tokens,
                            transcript_bytes=transcript_bytes, context_hash=digest))
    return state
