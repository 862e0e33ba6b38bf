"""Prompt-cache cost math (docs/design/pruning.md#prompt-cache-facts,
docs/design/pruning.md#prompt-cache-cost-of-a-prune), the TTL clock entry (docs/design/pruning.md#the-ttl-clock),
settings and eligibility."""

from __future__ import annotations

import pytest

from core.config.schema.pruning import ContextPruningConfig
from core.events.base import event_kinds
from core.pruning import (
    CACHE_TTL_CUSTOM_TYPE,
    PruneDecision,
    cache_ttl_data,
    estimate_cache_cost,
    is_cache_ttl_eligible,
    read_last_cache_touch,
    settings_from_config,
    should_append_cache_ttl,
)
from core.sessions.model import CustomEntry


def test_warm_cache_math() -> None:
    # c=1000 cached, S0=100000, R=60000 → S1=40000; w=1.25, r=0.1
    cost = estimate_cache_cost(prefix_tokens=1000, suffix_tokens_before=100_000, tokens_removed=60_000, warm=True)
    assert cost.no_prune_cost == pytest.approx((1000 + 100_000) * 0.1)
    assert cost.prune_cost == pytest.approx(1000 * 0.1 + 40_000 * 1.25)
    assert cost.cache_rewrite_tokens == 40_000
    # ceil((40000×1.25 − 100000×0.1) / (60000×0.1)) = ceil(40000/6000) = 7
    assert cost.break_even_requests == 7 and cost.verdict == "pays_after_7"
    assert estimate_cache_cost(prefix_tokens=1000, suffix_tokens_before=100_000, tokens_removed=60_000, warm=True,
                               horizon_requests=5).verdict == "does_not_pay"


def test_cold_cache_pays_now_and_long_retention_multiplier() -> None:
    cost = estimate_cache_cost(prefix_tokens=0, suffix_tokens_before=10_000, tokens_removed=4000, warm=False,
                               retention="long")
    assert cost.write_multiplier == 2.0 and cost.no_prune_cost == 20_000 and cost.prune_cost == 12_000
    assert cost.cache_rewrite_tokens == 0 and cost.break_even_requests == 0 and cost.verdict == "pays_now"


def test_small_prompt_warns_and_price_converts() -> None:
    cost = estimate_cache_cost(prefix_tokens=100, suffix_tokens_before=1000, tokens_removed=500, warm=False,
                               price_per_mtok=3.0)
    assert "minimum cacheable" in cost.warning
    assert cost.prune_cost == pytest.approx((100 + 500) * 1.25 * 3 / 1e6)


def test_ttl_marker_latest_matching_entry_wins() -> None:
    entries = [
        CustomEntry(CACHE_TTL_CUSTOM_TYPE, cache_ttl_data(1000, "sim", "fast")),
        {"type": "custom", "customType": CACHE_TTL_CUSTOM_TYPE,
         "data": cache_ttl_data(2000, "SIM", "Fast", {"c": "hard"})},
        CustomEntry(CACHE_TTL_CUSTOM_TYPE, cache_ttl_data(3000, "other", "fast")),
        CustomEntry("openclaw:prompt-error", {"timestamp": 9999}),
    ]
    touch = read_last_cache_touch(entries, "sim", "fast")
    assert touch.timestamp_ms == 2000 and touch.sticky == {"c": "hard"}
    assert read_last_cache_touch(entries, "sim", "slow").timestamp_ms is None
    assert cache_ttl_data(5, "p", "m") == {"timestamp": 5, "provider": "p", "modelId": "m"}


def test_marker_not_written_around_compaction() -> None:
    assert should_append_cache_ttl(mode="cache-ttl", eligible=True, compacted_during_attempt=False)
    assert not should_append_cache_ttl(mode="cache-ttl", eligible=True, compacted_during_attempt=True)
    assert not should_append_cache_ttl(mode="cache-ttl", eligible=True, compacted_during_attempt=False,
                                       timed_out_during_compaction=True)
    assert not should_append_cache_ttl(mode="off", eligible=True, compacted_during_attempt=False)


def test_settings_from_config_defaults_match_spec() -> None:
    s = settings_from_config(ContextPruningConfig.model_validate({"mode": "cache-ttl", "ttl": "1h",
                                                                  "tools": {"deny": [" Read "]}}))
    assert s.enabled and s.ttl_ms == 3_600_000 and s.keep_last_assistants == 3
    assert (s.soft_trim_ratio, s.hard_clear_ratio, s.min_prunable_tool_chars) == (0.3, 0.5, 50_000)
    assert (s.soft_trim_max_chars, s.soft_trim_head_chars, s.soft_trim_tail_chars) == (4000, 1500, 1500)
    assert s.hard_clear_placeholder == "[Old tool result content cleared]"
    assert not s.is_prunable_tool("read") and s.is_prunable_tool("exec")
    assert not settings_from_config(ContextPruningConfig()).enabled


def test_eligibility() -> None:
    assert is_cache_ttl_eligible("sim", "fast", api="anthropic-messages")
    assert is_cache_ttl_eligible("anthropic", "claude-x")
    assert is_cache_ttl_eligible("amazon-bedrock", "us.anthropic.claude-sonnet")
    assert not is_cache_ttl_eligible("amazon-bedrock", "llama")
    assert is_cache_ttl_eligible("openrouter", "deepseek/r1") and not is_cache_ttl_eligible("openrouter", "meta/x")
    assert is_cache_ttl_eligible("g", "gemini-2.5-pro", api="google-generative-ai")
    assert not is_cache_ttl_eligible("ollama", "llama3", api="openai-completions")
    assert is_cache_ttl_eligible("openai", "gpt-5", official_openai=True)


def test_decision_event_is_registered() -> None:
    assert event_kinds()["prune.decision"] is PruneDecision
    payload = PruneDecision(reason="no_cache_touch", touched=({"index": 1},), kept={"a": 1}).payload()
    assert payload["touched"] == [{"index": 1}] and payload["kept"] == {"a": 1}
