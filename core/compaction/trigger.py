"""When to compact (docs/design/compaction.md#triggers): the threshold after a turn, provider overflow errors and
the pre-prompt precheck. Pure functions over numbers, so the dashboard's thresholds block
(docs/design/context.md#distance-to-every-threshold) and the agent loop share one definition."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config.schema.compaction import CompactionConfig

__all__ = [
    "MAX_OVERFLOW_COMPACTION_ATTEMPTS",
    "PrecheckResult",
    "ThresholdCheck",
    "check_threshold",
    "context_tokens_from_usage",
    "is_context_overflow_error",
    "precheck",
    "reserve_tokens",
]

MAX_OVERFLOW_COMPACTION_ATTEMPTS = 3
_OVERFLOW = re.compile(
    "|".join(re.escape(s) for s in (
        "request_too_large",
        "context length exceeded",
        "input exceeds the maximum number of tokens",
        "input token count exceeds the maximum number of input tokens",
        "input is too long for the model",
        "ollama error: context length exceeded",
    )),
    re.IGNORECASE,
)


def reserve_tokens(cfg: CompactionConfig) -> int:
    """``max(reserveTokens, reserveTokensFloor)``; a floor of 0 disables the floor."""
    return max(cfg.reserve_tokens, cfg.reserve_tokens_floor)


def context_tokens_from_usage(usage: Mapping[str, Any] | None) -> int:
    """pi's ``contextTokens``: ``totalTokens`` or the sum of its parts (pi usage dict)."""
    if not usage:
        return 0
    total = usage.get("totalTokens") or 0
    if total:
        return int(total)
    return int(sum(int(usage.get(k) or 0) for k in ("input", "output", "cacheRead", "cacheWrite")))


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    """The after-turn check: compact when ``tokens > limit`` (``limit`` = window − reserve)."""

    tokens: int
    limit: int
    reserve: int
    compact: bool

    @property
    def remaining(self) -> int:
        return self.limit - self.tokens


def check_threshold(context_tokens: int, context_window: int, cfg: CompactionConfig) -> ThresholdCheck:
    """docs/design/compaction.md#threshold-after-a-turn; ``compaction.enabled: false`` disables only this proactive
    path."""
    reserve = reserve_tokens(cfg)
    limit = context_window - reserve
    return ThresholdCheck(context_tokens, limit, reserve,
                          cfg.enabled and context_window > 0 and context_tokens > limit)


def is_context_overflow_error(message: str) -> bool:
    """True when a provider error text says the prompt did not fit (docs/design/compaction.md#overflow-errors)."""
    return bool(_OVERFLOW.search(message or ""))


@dataclass(frozen=True, slots=True)
class PrecheckResult:
    """docs/design/compaction.md#pre-prompt-precheck route: ``fits`` | ``compact_only`` | ``truncate_tool_results_only``
    | ``compact_then_truncate``."""

    estimate: int
    budget: int
    reserve: int
    overflow: int
    route: str


def precheck(*, history_chars: int, system_chars: int, prompt_chars: int, budget: int,
             reserve: int, reducible_tool_chars: int) -> PrecheckResult:
    """Pre-prompt precheck: estimate × 1.2 against budget − effective reserve."""
    estimate = math.ceil((history_chars + system_chars + prompt_chars) / 4 * 1.2)
    effective = min(reserve, budget - min(8000, budget // 2))
    overflow = estimate - (budget - effective)
    if overflow <= 0:
        route = "fits"
    elif reducible_tool_chars <= 0:
        route = "compact_only"
    elif reducible_tool_chars >= max(overflow * 4 + 2048, math.ceil(overflow * 4 * 1.5)):
        route = "truncate_tool_results_only"
    else:
        route = "compact_then_truncate"
    return PrecheckResult(estimate, budget, effective, max(overflow, 0), route)
