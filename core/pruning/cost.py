"""Prompt-cache cost of one pruning round (docs/design/pruning.md#prompt-cache-facts,
docs/design/pruning.md#prompt-cache-cost-of-a-prune).

A prune rewrites the cache from the first changed message on. Whether that pays depends on
whether the provider cache is still warm: on a cold cache the whole prompt is re-written anyway,
so a smaller prompt is pure gain; on a warm one the prune trades cheap reads for a re-write.
All figures are in units of the model's base input price per token (money when a price is given).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from core.config.schema.pruning import ContextPruningConfig

_DEFAULTS = ContextPruningConfig()

__all__ = [
    "CACHE_TTL_MS",
    "READ_MULTIPLIER",
    "WRITE_MULTIPLIER",
    "CacheCost",
    "estimate_cache_cost",
]

WRITE_MULTIPLIER = {"short": 1.25, "long": 2.0}
"""Cache-write price multiplier: 5-minute retention 1.25×, 1-hour 2× (docs/design/pruning.md#prompt-cache-facts)."""
READ_MULTIPLIER = 0.1
"""Cache-read ("hits & refreshes") multiplier (docs/design/pruning.md#prompt-cache-facts); some newer models use
less."""
CACHE_TTL_MS = {"short": 300_000, "long": 3_600_000}
DEFAULT_MIN_CACHEABLE_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class CacheCost:
    """The docs/design/pruning.md#prompt-cache-cost-of-a-prune report for one round."""

    warm: bool
    retention: str
    write_multiplier: float
    read_multiplier: float
    cached_prefix_tokens: int
    suffix_tokens_before: int
    tokens_saved: int
    cache_rewrite_tokens: int
    no_prune_cost: float
    prune_cost: float
    next_request_delta: float
    break_even_requests: int | None
    verdict: str
    warning: str = ""
    price_per_mtok: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the event and ``clawtop prune --json``."""
        return asdict(self)


def estimate_cache_cost(*, prefix_tokens: int, suffix_tokens_before: int, tokens_removed: int,
                        warm: bool, retention: str = "short", read_multiplier: float = READ_MULTIPLIER,
                        horizon_requests: int = _DEFAULTS.cost_horizon_requests,
                        min_cacheable_tokens: int = DEFAULT_MIN_CACHEABLE_TOKENS,
                        price_per_mtok: float | None = None) -> CacheCost:
    """``c`` = ``prefix_tokens`` (stays cached), ``S₀`` = ``suffix_tokens_before``, ``R`` =
    ``tokens_removed``; returns costs of the next request with and without the prune, the
    break-even request count and a verdict (``pays_now`` | ``pays_after_N`` | ``does_not_pay``)."""
    w = WRITE_MULTIPLIER.get(retention, WRITE_MULTIPLIER["short"])
    r = read_multiplier
    c, s0, removed = prefix_tokens, suffix_tokens_before, max(tokens_removed, 0)
    s1 = max(s0 - removed, 0)
    if warm:
        no_prune, prune = (c + s0) * r, c * r + s1 * w
        rewrite = s1
        extra = s1 * w - s0 * r
        break_even = math.ceil(extra / (removed * r)) if removed > 0 and r > 0 else None
    else:
        no_prune, prune = (c + s0) * w, (c + s1) * w
        rewrite, break_even = 0, 0
    delta = prune - no_prune
    if delta <= 0:
        verdict = "pays_now"
    elif break_even is not None and break_even <= horizon_requests:
        verdict = f"pays_after_{break_even}"
    else:
        verdict = "does_not_pay"
    warning = ""
    if c + s1 < min_cacheable_tokens:
        warning = (f"pruned prompt (~{c + s1} tokens) is below the minimum cacheable size "
                   f"({min_cacheable_tokens}); it would not be cached at all")
    scale = price_per_mtok / 1_000_000 if price_per_mtok is not None else 1.0
    return CacheCost(
        warm=warm, retention=retention, write_multiplier=w, read_multiplier=r,
        cached_prefix_tokens=c, suffix_tokens_before=s0, tokens_saved=removed,
        cache_rewrite_tokens=rewrite, no_prune_cost=round(no_prune * scale, 6),
        prune_cost=round(prune * scale, 6), next_request_delta=round(delta * scale, 6),
        break_even_requests=break_even, verdict=verdict, warning=warning, price_per_mtok=price_per_mtok,
    )
