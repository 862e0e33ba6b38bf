"""Compaction: summarising old history when the context window fills (docs/design/compaction.md#compaction).

- :func:`check_threshold` / :func:`is_context_overflow_error` / :func:`precheck` — when
  (docs/design/compaction.md#triggers);
- :func:`find_cut_point` — where (docs/design/compaction.md#cut-point);
- :func:`compact` — cut, summarise through a :data:`Summarize` callable, append the
  ``compaction`` entry (docs/design/compaction.md#persistence-in-the-transcript) or abort with a
  :class:`CompactionAborted` event;
- :func:`maybe_flush` — the pre-compaction memory flush (docs/design/compaction.md#memory-flush).
"""

from core.compaction.compactor import CompactionResult, compact, parse_compact_command
from core.compaction.cut import CutPoint, find_cut_point, message_tokens
from core.compaction.events import CompactionAborted, CompactionFinished, CompactionStarted, MemoryFlush
from core.compaction.memory_flush import FlushPlan, FlushState, context_hash, flush_prompts, maybe_flush, plan_flush
from core.compaction.summary import Summarize, build_summary_request, serialize_conversation
from core.compaction.trigger import (
    MAX_OVERFLOW_COMPACTION_ATTEMPTS,
    check_threshold,
    context_tokens_from_usage,
    is_context_overflow_error,
    precheck,
    reserve_tokens,
)

__all__ = [
    "MAX_OVERFLOW_COMPACTION_ATTEMPTS",
    "CompactionAborted",
    "CompactionFinished",
    "CompactionResult",
    "CompactionStarted",
    "CutPoint",
    "FlushPlan",
    "FlushState",
    "MemoryFlush",
    "Summarize",
    "build_summary_request",
    "check_threshold",
    "compact",
    "context_hash",
    "context_tokens_from_usage",
    "find_cut_point",
    "flush_prompts",
    "is_context_overflow_error",
    "maybe_flush",
    "message_tokens",
    "parse_compact_command",
    "plan_flush",
    "precheck",
    "reserve_tokens",
    "serialize_conversation",
]
