"""Effective pruning settings and the activation gates (docs/design/pruning.md#settings-and-defaults,
docs/design/pruning.md#eligible-providers).

The config schema already validates bounds (clawtop rejects bad values instead of silently
normalising them, docs/design/pruning.md#where-clawtop-differs-from-openclaw), so this module only turns the config into
the numbers and the compiled tool predicate the hot path needs, once per config, and answers "is this model eligible".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config.schema.pruning import ContextPruningConfig
from core.pruning.glob import ToolPredicate, compile_tool_predicate

__all__ = ["PruneSettings", "is_cache_ttl_eligible", "settings_from_config"]

_OPENROUTER_PREFIXES = ("anthropic/", "deepseek/", "moonshot/", "moonshotai/", "zai/")


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneSettings:
    """Resolved ``contextPruning``: the numbers and the compiled tool predicate the hot path needs.

    No field has a default of its own: the defaults (OpenClaw's ``DEFAULT_CONTEXT_PRUNING_SETTINGS``)
    live in :class:`~core.config.schema.pruning.ContextPruningConfig`; build one with
    :func:`settings_from_config`.
    """

    mode: str
    ttl_ms: int
    keep_last_assistants: int
    soft_trim_ratio: float
    hard_clear_ratio: float
    min_prunable_tool_chars: int
    soft_trim_max_chars: int
    soft_trim_head_chars: int
    soft_trim_tail_chars: int
    hard_clear_enabled: bool
    hard_clear_placeholder: str
    tools_allow: tuple[str, ...]
    tools_deny: tuple[str, ...]
    cost_horizon_requests: int
    require_cache_payoff: bool
    is_prunable_tool: ToolPredicate = field(compare=False, repr=False)

    @property
    def enabled(self) -> bool:
        """Any mode other than ``cache-ttl`` means the hook is not installed (docs/design/pruning.md#modes)."""
        return self.mode == "cache-ttl"


def settings_from_config(cfg: ContextPruningConfig) -> PruneSettings:
    """Build the effective settings once per config (the predicate is compiled here)."""
    allow, deny = tuple(cfg.tools.allow), tuple(cfg.tools.deny)
    return PruneSettings(
        mode=cfg.mode,
        ttl_ms=cfg.ttl_ms,
        keep_last_assistants=cfg.keep_last_assistants,
        soft_trim_ratio=cfg.soft_trim_ratio,
        hard_clear_ratio=cfg.hard_clear_ratio,
        min_prunable_tool_chars=cfg.min_prunable_tool_chars,
        soft_trim_max_chars=cfg.soft_trim.max_chars,
        soft_trim_head_chars=cfg.soft_trim.head_chars,
        soft_trim_tail_chars=cfg.soft_trim.tail_chars,
        hard_clear_enabled=cfg.hard_clear.enabled,
        hard_clear_placeholder=cfg.hard_clear.placeholder,
        tools_allow=allow,
        tools_deny=deny,
        cost_horizon_requests=cfg.cost_horizon_requests,
        require_cache_payoff=cfg.require_cache_payoff,
        is_prunable_tool=compile_tool_predicate(allow, deny),
    )


def is_cache_ttl_eligible(provider: str, model_id: str, *, api: str | None = None,
                          official_openai: bool = False, supports_prompt_cache_key: bool = False) -> bool:
    """OpenClaw's ``cache-ttl.ts`` eligibility (docs/design/pruning.md#eligible-providers gate 2).

    ``api`` is the provider's wire API (``anthropic-messages`` makes any model eligible, which is
    how the simulator's Anthropic dialect qualifies); ``official_openai`` marks an official
    OpenAI route, ``supports_prompt_cache_key`` a proxy that declares prompt-cache keys.
    """
    p, m = provider.strip().lower(), model_id.strip().lower()
    if api == "anthropic-messages":
        return True
    if p in ("anthropic", "anthropic-vertex"):
        return True
    if p == "amazon-bedrock":
        return "claude" in m
    if p == "kilocode":
        return m.startswith("anthropic/")
    if api == "google-generative-ai":
        return m.startswith(("gemini-2.5", "gemini-3"))
    if p == "openrouter":
        return m.startswith(_OPENROUTER_PREFIXES)
    return official_openai or supports_prompt_cache_key
