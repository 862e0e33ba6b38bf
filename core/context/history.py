"""Incremental history estimate: per-message estimates cached, totals kept running.

Why: the report, the pruner's ratio and the dashboard re-estimate the context after every
message. Rescanning a 10,000-message session each time is O(n) JSON serialisation; here
appending one message costs one :func:`estimate_message` call plus an O(n) *identity*
comparison done in C (``list.__eq__`` short-circuits on ``is``), well under a millisecond.

Messages are immutable once in a session (pruning derives new objects), so an object's estimate
never goes stale; the cache is keyed by the identity of the message's JSON dict (``raw``) so new
wrapper objects around the same stored dict still hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.context.estimate import CATEGORIES, MessageEstimate, estimate_message

__all__ = ["HistoryEstimator", "HistoryTotals"]


@dataclass(slots=True)
class HistoryTotals:
    """Sum of message estimates: chars per category, tool-result chars per tool, image count."""

    chars: int = 0
    """Pruner-exact chars (docs/design/pruning.md#character-estimate): the numerator of the soft-trim / hard-clear
    ratio."""
    content_chars: int = 0
    """Chars of what is really sent (sum of ``by_category``)."""
    messages: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    tool_results_by_tool: dict[str, int] = field(default_factory=dict)
    tool_result_count: int = 0
    image_count: int = 0

    def add(self, est: MessageEstimate, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` remove) one message's estimate."""
        self.chars += sign * est.chars
        self.content_chars += sign * est.content_chars
        self.messages += sign
        for name in CATEGORIES:
            value = getattr(est, name)
            if value:
                self.by_category[name] += sign * value
        self.image_count += sign * est.image_count
        if est.tool_name is not None:
            self.tool_result_count += sign
            per_tool = self.tool_results_by_tool.get(est.tool_name, 0) + sign * (est.tool_results + est.images)
            if per_tool:
                self.tool_results_by_tool[est.tool_name] = per_tool
            else:
                self.tool_results_by_tool.pop(est.tool_name, None)

    def copy(self) -> HistoryTotals:
        return HistoryTotals(
            chars=self.chars,
            content_chars=self.content_chars,
            messages=self.messages,
            by_category=dict(self.by_category),
            tool_results_by_tool=dict(self.tool_results_by_tool),
            tool_result_count=self.tool_result_count,
            image_count=self.image_count,
        )


def _key(message: Any) -> int:
    raw = getattr(message, "raw", None)
    return id(raw if raw is not None else message)


def _as_list(items: Sequence[Any]) -> list[Any]:
    return items if isinstance(items, list) else list(items)


class HistoryEstimator:
    """Keeps the estimate of one session's context message list up to date.

    Call :meth:`update` with the current model-context messages (``Session.messages()``) as often
    as needed; only messages not seen before are estimated. ``estimated_count`` counts
    :func:`estimate_message` calls (tests and benches use it to prove nothing is rescanned).
    """

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._messages: list[Any] = []
        self._estimates: list[MessageEstimate] = []
        self._by_key: dict[int, tuple[Any, MessageEstimate]] = {}
        self.totals = HistoryTotals()
        self.estimated_count = 0

    def _estimate(self, message: Any) -> MessageEstimate:
        key = _key(message)
        hit = self._by_key.get(key)
        if hit is not None:
            return hit[1]
        est = estimate_message(message)
        self.estimated_count += 1
        # The owner object is kept alive with the estimate so its id() cannot be reused.
        raw = getattr(message, "raw", None)
        self._by_key[key] = (message if raw is None else raw, est)
        return est

    def update(self, messages: Sequence[Any]) -> HistoryTotals:
        """Bring the totals in line with ``messages`` and return them (live object; copy to keep).

        Fast path: the previous list is a prefix of the new one → estimate only the tail.
        Otherwise (compaction, pruning replaced a message, branch switch) the totals are rebuilt
        from the per-message cache, estimating only messages never seen.
        """
        old = self._messages
        n = len(old)
        if len(messages) >= n and (n == 0 or _as_list(messages[:n]) == old):
            for message in messages[n:]:
                est = self._estimate(message)
                old.append(message)
                self._estimates.append(est)
                self.totals.add(est)
            return self.totals
        self._rebuild(messages)
        return self.totals

    def append(self, message: Any) -> HistoryTotals:
        """O(1) path for callers that know they appended exactly one message."""
        est = self._estimate(message)
        self._messages.append(message)
        self._estimates.append(est)
        self.totals.add(est)
        return self.totals

    def _rebuild(self, messages: Sequence[Any]) -> None:
        live: dict[int, tuple[Any, MessageEstimate]] = {}
        totals = HistoryTotals()
        estimates: list[MessageEstimate] = []
        for message in messages:
            est = self._estimate(message)
            live[_key(message)] = self._by_key[_key(message)]
            estimates.append(est)
            totals.add(est)
        self._by_key = live  # drop estimates of messages that left the context
        self._messages = list(messages)
        self._estimates = estimates
        self.totals = totals

    @property
    def estimates(self) -> Sequence[MessageEstimate]:
        """Per-message estimates, aligned with the last list passed to :meth:`update`."""
        return self._estimates

    def reset(self) -> None:
        """Forget everything (a message was mutated in place, which sessions never do)."""
        self._clear()
