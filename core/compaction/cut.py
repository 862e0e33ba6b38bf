"""Where compaction cuts the history (docs/design/compaction.md#cut-point, pi ``findCutPoint``).

Everything before the cut is summarised; the ``keepRecentTokens`` tail stays verbatim. The cut
never lands on a ``toolResult`` (that would orphan it from its tool call, #10700); a cut inside a
turn marks a *split turn* whose prefix is summarised separately.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.sessions.model import (
    BranchSummaryEntry,
    CompactionEntry,
    CustomMessageEntry,
    Entry,
    MessageEntry,
)

__all__ = ["CutPoint", "entry_tokens", "find_cut_point", "message_tokens", "start_after_compaction"]

IMAGE_CHARS = 4800
_CUT_ROLES = frozenset({"user", "assistant", "custom", "bashExecution", "branchSummary", "compactionSummary"})
_TURN_START_ROLES = frozenset({"user", "bashExecution"})


def _text_of(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    chars = 0
    for block in content or ():
        if isinstance(block, Mapping):
            if block.get("type") == "text":
                chars += len(str(block.get("text", "")))
            elif block.get("type") == "image":
                chars += IMAGE_CHARS
    return chars


def message_tokens(message: Mapping[str, Any]) -> int:
    """ceil(chars / 4) with pi's per-role char rules (docs/design/compaction.md#cut-point)."""
    role = message.get("role")
    content = message.get("content")
    if role == "assistant" and not isinstance(content, str):
        chars = 0
        for block in content or ():
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if kind == "text":
                chars += len(str(block.get("text", "")))
            elif kind == "thinking":
                chars += len(str(block.get("thinking", "")))
            elif kind == "toolCall":
                arguments = json.dumps(block.get("arguments", {}), ensure_ascii=False)
                chars += len(str(block.get("name", ""))) + len(arguments)
    elif role == "bashExecution":
        chars = len(str(message.get("command", ""))) + len(str(message.get("output", "")))
    elif role in ("compactionSummary", "branchSummary"):
        chars = len(str(message.get("summary", "")))
    else:  # user, toolResult, custom
        chars = _text_of(content)
    return math.ceil(chars / 4)


def _message_of(entry: Entry) -> Mapping[str, Any] | None:
    if isinstance(entry, MessageEntry):
        return entry.message.raw
    if isinstance(entry, (CustomMessageEntry, BranchSummaryEntry)):
        return entry.as_message().raw
    return None


def entry_tokens(entry: Entry) -> int:
    """Tokens an entry contributes to the context (0 for state-only entries)."""
    message = _message_of(entry)
    return 0 if message is None else message_tokens(message)


def _is_cut_point(entry: Entry) -> bool:
    if isinstance(entry, (BranchSummaryEntry, CustomMessageEntry)):
        return True
    return isinstance(entry, MessageEntry) and entry.role in _CUT_ROLES


def _is_turn_start(entry: Entry) -> bool:
    if isinstance(entry, (BranchSummaryEntry, CustomMessageEntry)):
        return True
    return isinstance(entry, MessageEntry) and entry.role in _TURN_START_ROLES


def start_after_compaction(path: Sequence[Entry]) -> int:
    """Index of the first entry after the latest compaction on ``path`` (0 if none)."""
    for i in range(len(path) - 1, -1, -1):
        if isinstance(path[i], CompactionEntry):
            return i + 1
    return 0


@dataclass(frozen=True, slots=True)
class CutPoint:
    """``first_kept`` indexes ``path``: entries ``[start, first_kept)`` are summarised.
    ``turn_start`` is set for a split turn: ``[turn_start, first_kept)`` is the turn prefix."""

    start: int
    first_kept: int
    turn_start: int | None = None

    @property
    def split_turn(self) -> bool:
        return self.turn_start is not None


def find_cut_point(path: Sequence[Entry], keep_recent_tokens: int, start: int | None = None) -> CutPoint:
    """Walk back from the leaf summing tokens; at the first entry where the sum reaches
    ``keep_recent_tokens`` take the first valid cut point at or after it (docs/design/compaction.md#cut-point).
    If the tail never reaches the budget, nothing is cut (``first_kept == start``)."""
    begin = start_after_compaction(path) if start is None else start
    total = 0
    reached = None
    for i in range(len(path) - 1, begin - 1, -1):
        total += entry_tokens(path[i])
        if total >= keep_recent_tokens:
            reached = i
            break
    if reached is None:
        return CutPoint(begin, begin)
    cut = next((j for j in range(reached, len(path)) if _is_cut_point(path[j])), None)
    if cut is None:
        return CutPoint(begin, begin)
    turn = None
    if not _is_turn_start(path[cut]):
        turn = next((j for j in range(cut - 1, begin - 1, -1) if _is_turn_start(path[j])), None)
    # Step 5: pull directly preceding state entries (model changes, labels …) into the kept part.
    while cut > begin and _message_of(path[cut - 1]) is None and not isinstance(path[cut - 1], CompactionEntry):
        cut -= 1
    return CutPoint(begin, cut, turn)
