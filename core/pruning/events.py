"""The ``prune.decision`` event: one per evaluation of the pruning hook, skips included
(docs/design/pruning.md#every-decision-is-explained), so a user can always see why a prompt was or was not pruned."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

from core.events.base import Event, register_kind

__all__ = ["PruneDecision", "SKIP_REASONS", "SkipReason"]

SkipReason = Literal[
    "mode_off",
    "not_eligible",
    "no_cache_touch",
    "ttl_disabled",
    "ttl_not_elapsed",
    "no_context_window",
    "too_few_assistants",
    "no_user_message",
    "below_soft_ratio",
    "below_hard_ratio",
    "below_min_prunable",
    "hard_clear_disabled",
    "nothing_to_trim",
    "cache_payoff_not_met",
]
"""Every ``reason`` a skipped decision can carry; the first seven stop before the char estimate."""

SKIP_REASONS: tuple[SkipReason, ...] = get_args(SkipReason)


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PruneDecision(Event):
    """What one pruning evaluation did, or why it did nothing.

    ``skipped`` is True when the sent context equals the input apart from replayed sticky
    decisions; ``reason`` is then the gate that stopped the round (:data:`SKIP_REASONS`), else
    ``pruned``. ``outcome`` is the gate outcome (``ran`` once the ratio gate passed).
    ``touched`` holds one dict per changed tool result: ``index``, ``tool``, ``toolCallId``,
    ``action`` (``soft_trim`` | ``hard_clear`` | ``images_stripped`` | ``replayed``),
    ``charsBefore``, ``charsAfter``, ``imagesRemoved``. ``kept`` counts untouched results by
    ``keptBecause``. ``cache_cost`` is :meth:`core.pruning.cost.CacheCost.as_dict` or None.
    """

    kind = "prune.decision"
    session_id: str | None = None
    provider: str | None = None
    model: str | None = None
    skipped: bool = True
    reason: SkipReason | Literal["pruned", ""] = ""
    outcome: SkipReason | Literal["ran", ""] = ""
    ttl_ms: int = 0
    ms_since_touch: int | None = None
    ms_remaining: int | None = None
    context_window_tokens: int = 0
    chars_per_token: int = 4
    char_window: int = 0
    soft_trim_ratio: float = 0.0
    hard_clear_ratio: float = 0.0
    cutoff_index: int | None = None
    prune_start_index: int | None = None
    ratio_before: float | None = None
    ratio_after_soft: float | None = None
    ratio_after: float | None = None
    chars_before: int | None = None
    chars_after: int | None = None
    hard_clear_gate: str = ""
    prunable_chars: int | None = None
    min_prunable_tool_chars: int = 0
    touched: tuple[dict[str, Any], ...] = ()
    kept: dict[str, int] = dataclasses.field(default_factory=dict)
    chars_saved: int = 0
    tokens_saved_est: int = 0
    cache_cost: dict[str, Any] | None = None
    explanation: str = ""
    settings_version: str | None = None
    """The id of the tuning in force when the decision was made (docs/design/tuning.md#settings-version);
    None when no tuning produced the settings (defaults, a hand edit) or for rows stored before."""
