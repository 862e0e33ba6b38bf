"""Cache-TTL pruning of old tool results (docs/design/pruning.md#cache-ttl-pruning,
docs/design/pruning.md#prompt-cache-facts, docs/design/pruning.md#every-decision-is-explained,
docs/design/pruning.md#dry-run-over-a-transcript).

Entry point: :func:`prune` — a pure function over OpenClaw-shaped message dicts (``role``
``user`` / ``assistant`` / ``toolResult``, content blocks ``text`` / ``thinking`` / ``toolCall`` /
``image``) that returns the list to send plus a :class:`PruneDecision` event. The agent loop calls
it before every model call with :func:`settings_from_config`, the TTL clock from
:func:`read_last_cache_touch`, and appends a marker (:func:`cache_ttl_data`) after each attempt
when :func:`should_append_cache_ttl` says so.
"""

from core.pruning.cost import CacheCost, estimate_cache_cost
from core.pruning.estimate import estimate_message_chars, estimate_text_chars
from core.pruning.events import SKIP_REASONS, PruneDecision
from core.pruning.glob import compile_tool_predicate
from core.pruning.pruner import CacheContext, PruneResult, prune
from core.pruning.settings import PruneSettings, is_cache_ttl_eligible, settings_from_config
from core.pruning.trim import IMAGE_REMOVED_TEXT, hard_clear_message, soft_trim_message, trim_notice
from core.pruning.ttl import (
    CACHE_TTL_CUSTOM_TYPE,
    CacheTouch,
    cache_ttl_data,
    read_last_cache_touch,
    should_append_cache_ttl,
)

__all__ = [
    "CACHE_TTL_CUSTOM_TYPE",
    "IMAGE_REMOVED_TEXT",
    "SKIP_REASONS",
    "CacheContext",
    "CacheCost",
    "CacheTouch",
    "PruneDecision",
    "PruneResult",
    "PruneSettings",
    "cache_ttl_data",
    "compile_tool_predicate",
    "estimate_cache_cost",
    "estimate_message_chars",
    "estimate_text_chars",
    "hard_clear_message",
    "is_cache_ttl_eligible",
    "prune",
    "read_last_cache_touch",
    "settings_from_config",
    "should_append_cache_ttl",
    "soft_trim_message",
    "trim_notice",
]
