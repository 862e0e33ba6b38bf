"""Cache-TTL pruning as a pure function over the message list (docs/design/pruning.md#the-ttl-clock,
docs/design/pruning.md#the-pruning-algorithm, docs/design/pruning.md#every-decision-is-explained).

Pruning changes what is *sent*, never the stored transcript: :func:`prune` returns a new list
(sharing every untouched message with the input) plus a :class:`PruneDecision`, and the record of
which results it pruned (``sticky``) so the caller can store it in the TTL marker and every later
request replays the same bytes (docs/design/pruning.md#sticky-decisions) — the prompt cache then re-forms on the pruned
prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.pruning.cost import CACHE_TTL_MS, READ_MULTIPLIER, CacheCost, estimate_cache_cost
from core.pruning.estimate import CHARS_PER_TOKEN, estimate_message_chars, estimate_total_chars
from core.pruning.events import PruneDecision, SkipReason
from core.pruning.settings import PruneSettings
from core.pruning.trim import hard_clear_message, soft_trim_message

__all__ = ["CacheContext", "PruneResult", "prune"]

Message = Mapping[str, Any]
SOFT, HARD = "soft", "hard"


@dataclass(frozen=True, slots=True)
class CacheContext:
    """What the cost estimate needs about the provider cache; all optional."""

    retention: str = "short"
    last_request_start_ms: int | None = None
    read_multiplier: float = READ_MULTIPLIER
    price_per_mtok: float | None = None
    min_cacheable_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class PruneResult:
    """``messages`` is the input object itself when nothing changed (callers may test identity).

    ``sticky`` maps ``toolCallId`` → ``soft`` | ``hard`` for every pruned result (replayed ones
    included): store it in the next ``openclaw.cache-ttl`` marker. ``touch_clock`` is True when a
    new round changed the list, so the in-memory ``lastCacheTouchAt`` becomes ``now``
    (docs/design/pruning.md#the-ttl-clock).
    """

    messages: Sequence[Message]
    decision: PruneDecision
    sticky: dict[str, str] = field(default_factory=dict)
    touch_clock: bool = False

    @property
    def changed(self) -> bool:
        return not self.decision.skipped


class _Finish(Protocol):
    """Ends the hook with a skip decision carrying the shared figures plus ``extra``."""

    def __call__(self, reason: SkipReason, explanation: str, **extra: Any) -> PruneResult: ...


class _Work:
    """Copy-on-write list plus running totals shared by the passes."""

    def __init__(self, messages: Sequence[Message], settings: PruneSettings) -> None:
        self.source = messages
        self.out: list[Message] | None = None
        self.settings = settings
        self.touched: list[dict[str, Any]] = []
        self.sticky: dict[str, str] = {}

    @property
    def current(self) -> Sequence[Message]:
        return self.out if self.out is not None else self.source

    def put(self, index: int, message: Message) -> None:
        if self.out is None:
            self.out = list(self.source)
        self.out[index] = message

    def record(self, index: int, action: str, before: int, after: int, images: int = 0) -> None:
        msg = self.current[index]
        call_id = msg.get("toolCallId")
        self.touched.append({"index": index, "tool": msg.get("toolName"), "toolCallId": call_id,
                             "action": action, "charsBefore": before, "charsAfter": after,
                             "imagesRemoved": images})
        if (isinstance(call_id, str) and action != "images_stripped"
                and (action == "hard_clear" or self.sticky.get(call_id) != HARD)):
            self.sticky[call_id] = HARD if action == "hard_clear" else SOFT

    def soft(self, index: int, before: int | None = None) -> tuple[int, int] | None:
        """Soft-trim one result in place; returns (chars before, after) or None. ``before`` is
        the known estimate of the current message (saves rescanning a large result)."""
        s = self.settings
        msg = self.current[index]
        outcome = soft_trim_message(msg, max_chars=s.soft_trim_max_chars, head_chars=s.soft_trim_head_chars,
                                    tail_chars=s.soft_trim_tail_chars)
        if outcome is None:
            return None
        if before is None:
            before = estimate_message_chars(msg)
        self.put(index, outcome.message)
        after = estimate_message_chars(outcome.message)
        self.record(index, "soft_trim" if outcome.trimmed else "images_stripped", before, after,
                    outcome.images_removed)
        return before, after

    def hard(self, index: int, before: int | None = None) -> tuple[int, int]:
        msg = self.current[index]
        if before is None:
            before = estimate_message_chars(msg)
        cleared = hard_clear_message(msg, self.settings.hard_clear_placeholder)
        self.put(index, cleared)
        after = estimate_message_chars(cleared)
        self.record(index, "hard_clear", before, after)
        return before, after


def _replay(work: _Work, sticky: Mapping[str, str]) -> None:
    """Re-apply recorded decisions byte-identically (soft trims re-derived from the original)."""
    for i, msg in enumerate(work.source):
        if msg.get("role") != "toolResult":
            continue
        call_id = msg.get("toolCallId")
        mode = sticky.get(call_id) if isinstance(call_id, str) else None
        if mode == HARD:
            work.hard(i)
        elif mode == SOFT:
            work.soft(i)
        else:
            continue
        work.touched[-1]["action"] = "replayed"
        work.sticky[msg["toolCallId"]] = mode


def _cutoff(messages: Sequence[Message], keep: int) -> int | None:
    if keep <= 0:
        return len(messages)
    seen = 0
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            seen += 1
            if seen == keep:
                return i
    return None


def _kept_counts(messages: Sequence[Message], settings: PruneSettings, start: int | None,
                 cutoff: int | None, touched: set[int], hard_ran: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i, msg in enumerate(messages):
        if msg.get("role") != "toolResult" or i in touched:
            continue
        if start is None or i < start:
            why = "before_first_user"
        elif cutoff is not None and i >= cutoff:
            why = "protected_tail"
        elif not settings.is_prunable_tool(str(msg.get("toolName") or "")):
            why = "tool_denied"
        elif hard_ran:
            why = "ratio_reached"
        else:
            why = "within_max_chars"
        counts[why] = counts.get(why, 0) + 1
    return counts


def prune(messages: Sequence[Message], *, settings: PruneSettings, context_window_tokens: int,
          now_ms: int, last_cache_touch_ms: int | None, sticky: Mapping[str, str] | None = None,
          eligible: bool = True, drop_thinking: bool = False, cache: CacheContext | None = None,
          estimates: Sequence[int] | None = None, session_id: str | None = None, provider: str | None = None,
          model: str | None = None) -> PruneResult:
    """Run the pruning hook for one model call: replay sticky decisions, apply the TTL gate, then
    the docs/design/pruning.md#the-pruning-algorithm algorithm in its exact order. Never mutates ``messages`` or its
    dicts.

    ``estimates`` — optional per-message char estimates of ``messages`` (docs/design/pruning.md#character-estimate,
    thinking already dropped if ``drop_thinking``), e.g. kept up to date by ``core.context.HistoryEstimator``: the
    estimate pass is the only part that scans every character, so a caller that maintains them
    makes a pass proportional to what changes. Ignored when sticky decisions were replayed."""
    s = settings
    work = _Work(messages, s)
    if sticky:
        _replay(work, sticky)
    base: dict[str, Any] = {"session_id": session_id, "provider": provider, "model": model, "ttl_ms": s.ttl_ms,
                            "context_window_tokens": context_window_tokens, "soft_trim_ratio": s.soft_trim_ratio,
                            "hard_clear_ratio": s.hard_clear_ratio,
                            "min_prunable_tool_chars": s.min_prunable_tool_chars,
                            "char_window": max(context_window_tokens, 0) * CHARS_PER_TOKEN}
    since = None if last_cache_touch_ms is None else now_ms - last_cache_touch_ms
    base["ms_since_touch"] = since

    def finish(reason: SkipReason, explanation: str, **extra: Any) -> PruneResult:
        decision = PruneDecision(skipped=True, reason=reason, outcome=extra.pop("outcome", reason),
                                 touched=tuple(work.touched), explanation=explanation, **base, **extra)
        return PruneResult(work.current, decision, dict(work.sticky), False)

    if not s.enabled:
        return finish("mode_off", "contextPruning.mode is not cache-ttl")
    if not eligible:
        return finish("not_eligible", f"{provider}/{model} is not cache-TTL eligible")
    if since is None or last_cache_touch_ms is None:
        return finish("no_cache_touch", "first call for this model: no cache-TTL marker yet, a first call never prunes")
    if s.ttl_ms <= 0:
        return finish("ttl_disabled", "ttl is 0: pruning disabled")
    if since < s.ttl_ms:
        left = s.ttl_ms - since
        return finish("ttl_not_elapsed", f"last request {since} ms ago; TTL {s.ttl_ms} ms not elapsed ({left} ms left)",
                      ms_remaining=left)
    return _run(work, s, context_window_tokens, now_ms, last_cache_touch_ms, drop_thinking, cache, estimates,
                base, finish)


def _run(work: _Work, s: PruneSettings, window: int, now_ms: int, touch_ms: int, drop_thinking: bool,
         cache: CacheContext | None, estimates: Sequence[int] | None, base: dict[str, Any],
         finish: _Finish) -> PruneResult:
    msgs = work.current
    replayed = len(work.touched)
    if window <= 0:
        return finish("no_context_window", "no positive context window")
    char_window = window * CHARS_PER_TOKEN
    cutoff = _cutoff(msgs, s.keep_last_assistants)
    base["cutoff_index"] = cutoff
    if cutoff is None:
        return finish("too_few_assistants",
                      f"fewer than keepLastAssistants={s.keep_last_assistants} assistant messages")
    start = next((i for i, m in enumerate(msgs) if m.get("role") == "user"), None)
    base["prune_start_index"] = start
    if start is None:
        return finish("no_user_message", "no user message: everything is bootstrap, nothing is prunable")
    if estimates is not None and replayed == 0 and len(estimates) == len(msgs):
        sizes = list(estimates)
    else:
        sizes = estimate_total_chars(msgs, drop_thinking=drop_thinking)
    total = total_before = sum(sizes)
    ratio_before = total / char_window
    base.update(ratio_before=ratio_before, chars_before=total_before)
    if ratio_before < s.soft_trim_ratio:
        return finish("below_soft_ratio", f"history ratio {ratio_before:.3f} < softTrimRatio {s.soft_trim_ratio}",
                      ratio_after=ratio_before, chars_after=total)
    prunable: list[int] = []
    for i in range(start, cutoff):
        m = work.current[i]
        if m.get("role") != "toolResult" or not s.is_prunable_tool(str(m.get("toolName") or "")):
            continue
        prunable.append(i)
        changed = work.soft(i, sizes[i])
        if changed is not None:
            # The replacement's estimate (not the message's old size) keeps the total exact even
            # when thinking was dropped for the estimate: tool results carry none.
            total += changed[1] - sizes[i]
            sizes[i] = changed[1]
    ratio_soft = total / char_window
    prunable_chars = None
    hard_ran = False
    if not s.hard_clear_enabled:
        gate = "disabled"
    elif ratio_soft < s.hard_clear_ratio:
        gate = "below_hard_ratio"
    else:
        prunable_chars = sum(sizes[i] for i in prunable)
        if prunable_chars < s.min_prunable_tool_chars:
            gate = "below_min_prunable"
        else:
            gate, hard_ran = "ran", True
            placeholder = s.hard_clear_placeholder
            for i in prunable:  # oldest first
                if total / char_window < s.hard_clear_ratio:
                    break
                content = work.current[i].get("content")
                if (isinstance(content, list) and len(content) == 1
                        and content[0].get("text") == placeholder):
                    continue  # already cleared (replayed): nothing to gain, nothing to record
                if sizes[i] <= estimate_message_chars(hard_clear_message(work.current[i], placeholder)):
                    continue  # not longer than the placeholder: "clearing" it would grow the context
                _, after = work.hard(i, sizes[i])
                total += after - sizes[i]
                sizes[i] = after
    ratio_after = total / char_window
    new = work.touched[replayed:]
    base.update(ratio_after_soft=ratio_soft, ratio_after=ratio_after, chars_after=total,
                hard_clear_gate=gate, prunable_chars=prunable_chars,
                kept=_kept_counts(work.current, s, start, cutoff, {t["index"] for t in work.touched}, hard_ran))
    if not new:
        reason: SkipReason = ("hard_clear_disabled" if gate == "disabled" else "nothing_to_trim" if gate == "ran"
                              else "below_hard_ratio" if gate == "below_hard_ratio" else "below_min_prunable")
        return finish(reason, f"ratio {ratio_before:.3f} ≥ softTrimRatio but no result needed trimming; "
                      f"hard clear: {gate}", outcome="ran")
    cost = _cost(work.source, sizes, new, total_before, total, now_ms, touch_ms, s, cache)
    saved = total_before - total
    base.update(chars_saved=saved, tokens_saved_est=saved // CHARS_PER_TOKEN, cache_cost=cost.as_dict())
    if s.require_cache_payoff and cost.verdict == "does_not_pay":
        work.out = None if replayed == 0 else work.out
        return _payoff_skip(work, replayed, finish, cost)
    explanation = (f"ratio {ratio_before:.3f} → {ratio_soft:.3f} after soft trim → {ratio_after:.3f}; "
                   f"{sum(t['action'] == 'soft_trim' for t in new)} soft-trimmed, "
                   f"{sum(t['action'] == 'hard_clear' for t in new)} hard-cleared, "
                   f"{sum(t['action'] == 'images_stripped' for t in new)} image-stripped; "
                   f"~{saved // CHARS_PER_TOKEN} tokens saved; cache: {cost.verdict}")
    decision = PruneDecision(skipped=False, reason="pruned", outcome="ran", touched=tuple(work.touched),
                             explanation=explanation, **base)
    return PruneResult(work.current, decision, dict(work.sticky), True)


def _payoff_skip(work: _Work, replayed: int, finish: _Finish, cost: CacheCost) -> PruneResult:
    """``requireCachePayoff``: drop this round, keep only the replayed decisions."""
    if replayed:
        kept_touched = work.touched[:replayed]
        fresh = _Work(work.source, work.settings)
        _replay(fresh, {t["toolCallId"]: work.sticky[t["toolCallId"]] for t in kept_touched
                        if t["toolCallId"] in work.sticky})
        work.out, work.touched, work.sticky = fresh.out, fresh.touched, fresh.sticky
    else:
        work.touched, work.sticky = [], {}
    return finish("cache_payoff_not_met", f"round would not pay back its cache rewrite ({cost.verdict}); "
                  "requireCachePayoff is set", outcome="ran")


def _cost(source: Sequence[Message], sizes_after: list[int], new: list[dict[str, Any]], total_before: int,
          total_after: int, now_ms: int, touch_ms: int, s: PruneSettings, cache: CacheContext | None) -> CacheCost:
    cache = cache or CacheContext()
    first = min(t["index"] for t in new)
    # Chars before the first changed message are unchanged by this round: the cached prefix.
    prefix_chars = sum(sizes_after[:first])
    start = cache.last_request_start_ms if cache.last_request_start_ms is not None else touch_ms
    ttl = CACHE_TTL_MS.get(cache.retention, CACHE_TTL_MS["short"])
    return estimate_cache_cost(
        prefix_tokens=prefix_chars // CHARS_PER_TOKEN,
        suffix_tokens_before=(total_before - prefix_chars) // CHARS_PER_TOKEN,
        tokens_removed=(total_before - total_after) // CHARS_PER_TOKEN,
        warm=now_ms - start < ttl, retention=cache.retention, read_multiplier=cache.read_multiplier,
        horizon_requests=s.cost_horizon_requests, min_cacheable_tokens=cache.min_cacheable_tokens,
        price_per_mtok=cache.price_per_mtok,
    )
