"""Compaction and memory-flush events (docs/design/compaction.md#compaction, docs/design/compaction.md#loop-guards):
every compaction is either finished or aborted with a reason, so a loop of no-op compactions is visible and never
silent."""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

__all__ = ["AbortReason", "CompactionAborted", "CompactionFinished", "CompactionStarted", "CompactionTrigger",
           "FlushOutcome", "MemoryFlush"]

CompactionTrigger = Literal["threshold", "overflow", "precheck", "budget", "manual"]
AbortReason = Literal["already_compacted", "nothing_to_summarize", "would_not_shrink", "summary_failed",
                      "empty_summary"]
FlushOutcome = Literal["ran", "skipped"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CompactionStarted(Event):
    """A compaction began; ``trigger``: ``threshold`` | ``overflow`` | ``precheck`` | ``budget`` |
    ``manual``."""

    kind = "compaction.started"
    session_id: str
    trigger: CompactionTrigger
    mode: str
    tokens_before: int
    messages_to_summarize: int
    split_turn: bool = False


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CompactionFinished(Event):
    """A ``compaction`` entry was appended."""

    kind = "compaction.finished"
    session_id: str
    trigger: CompactionTrigger
    entry_id: str
    first_kept_entry_id: str
    tokens_before: int
    tokens_after: int
    summary_chars: int
    duration_ms: int


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CompactionAborted(Event):
    """No entry was written. ``reason``: ``already_compacted`` (last entry is a compaction),
    ``nothing_to_summarize``, ``would_not_shrink``, ``summary_failed``, ``empty_summary``."""

    kind = "compaction.aborted"
    session_id: str
    trigger: CompactionTrigger
    reason: AbortReason
    detail: str = ""
    tokens_before: int = 0
    tokens_after: int | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MemoryFlush(Event):
    """The pre-compaction memory-flush check (docs/design/compaction.md#memory-flush): ``ran`` | ``skipped`` with a
    ``reason``."""

    kind = "compaction.memory_flush"
    session_id: str
    outcome: FlushOutcome
    reason: str
    projected_tokens: int
    threshold_tokens: int
    transcript_bytes: int | None = None
    context_hash: str = ""
