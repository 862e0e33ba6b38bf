"""Config defaults live only in the schema: runtime objects built from config have none of
their own, and what they are built from an all-defaults config equals the schema's values."""

from __future__ import annotations

import dataclasses

import pytest

from core.config.schema import ClawtopConfig
from core.config.schema.pruning import ContextPruningConfig
from core.config.schema.retry import RetryBudget
from core.pruning import PruneSettings, settings_from_config
from core.retry import RetryPolicy
from core.retry.budget import BudgetSettings


@pytest.mark.parametrize("cls", [RetryPolicy, PruneSettings, BudgetSettings])
def test_runtime_settings_have_no_defaults_of_their_own(cls: type) -> None:
    with_default = [f.name for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert with_default == []


def test_built_from_the_default_models() -> None:
    config = ClawtopConfig()
    provider = config.retry.provider
    policy = RetryPolicy.default()
    assert (policy.attempts, policy.min_delay_ms, policy.max_delay_ms, policy.jitter, policy.jitter_mode,
            policy.rate_limit_attempts) == (provider.attempts, provider.min_delay_ms, provider.max_delay_ms,
                                            provider.jitter, provider.jitter_mode, provider.rate_limit_attempts)
    assert (policy.retry_after_jitter, policy.max_retry_after_ms, policy.deadline_ms) == (
        config.retry.retry_after_jitter, config.retry.max_retry_after_ms, config.retry.deadline_ms)
    assert policy.budget == BudgetSettings.from_config(RetryBudget())
    pruning = settings_from_config(ContextPruningConfig())
    cfg = ContextPruningConfig()
    assert (pruning.mode, pruning.ttl_ms, pruning.keep_last_assistants, pruning.soft_trim_max_chars,
            pruning.hard_clear_placeholder) == (cfg.mode, cfg.ttl_ms, cfg.keep_last_assistants,
                                                cfg.soft_trim.max_chars, cfg.hard_clear.placeholder)
