"""``agents``: defaults for every agent run (OpenClaw's ``agents.defaults``).

Per-agent entries (OpenClaw's ``agents.entries.<id>``) are not part of clawtop yet; everything
here applies to the single default agent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from core.config.schema.base import ModelRef, StrictModel
from core.config.schema.compaction import CompactionConfig
from core.config.schema.pruning import ContextPruningConfig
from core.config.schema.reload import Reload, reload
from core.config.schema.sandbox import SandboxConfig

__all__ = ["AgentDefaults", "AgentModelConfig", "AgentsConfig"]


class AgentModelConfig(StrictModel):
    """``agents.defaults.model``: which model answers, and what to try when it fails
    (docs/design/retry.md#model-fallback-chain)."""

    primary: ModelRef = "sim/fast"
    """Model ref ``provider/model`` used for every run. Default ``sim/fast`` (the built-in
    simulator, so clawtop works with no provider configured)."""

    fallbacks: list[ModelRef] = Field(default_factory=list, max_length=20)
    """Model refs tried in order when the primary fails over (auth, rate limit, overload,
    timeout, billing); duplicates are dropped. Default [] (no fallback)."""

    @field_validator("fallbacks")
    @classmethod
    def _dedupe(cls, refs: list[str]) -> list[str]:
        # OpenClaw deduplicates the fallback list (docs/design/retry.md#model-fallback-chain); doing it at load keeps
        # the dashboard's chain identical to the one the runner walks.
        return list(dict.fromkeys(refs))


class AgentDefaults(StrictModel):
    """``agents.defaults``."""

    workspace: str | None = None
    """Agent workspace directory (AGENTS.md, memory/, files the tools work on); ``~`` is
    expanded. Unset = ``<state dir>/workspace``."""

    model: AgentModelConfig = Field(default_factory=AgentModelConfig)
    """Primary model and fallback chain."""

    context_tokens: int | None = Field(None, ge=16_000, le=100_000_000)
    """Cap on the context window in tokens, applied only when smaller than the model's own
    (docs/design/context.md#context-window-resolution). Below 16000 runs are blocked, so smaller values are rejected.
    Unset = the model's window."""

    max_concurrent: int = Field(4, ge=1, le=256)
    """Agent runs that may execute in parallel across sessions (each session stays serialised).
    Default 4 (OpenClaw's ``DEFAULT_AGENT_MAX_CONCURRENT``)."""

    max_tool_iterations: int = Field(20, ge=1, le=1000)
    """Model calls with tool use allowed in one turn before it is stopped without a final answer
    (each pending call then gets an error result, so the transcript stays well-formed). Bounds a
    runaway tool loop's cost. Default 20."""

    bootstrap_max_chars: int = Field(20000, ge=64, le=10_000_000)
    """Per-file cap in characters for injected workspace files (AGENTS.md, SOUL.md …); longer
    files keep their head and tail with a truncation marker (docs/design/context.md#bootstrap-files). Default 20000."""

    bootstrap_total_max_chars: int = Field(60000, ge=64, le=100_000_000)
    """Total cap in characters across all injected workspace files. Default 60000."""

    bootstrap_prompt_truncation_warning: Literal["off", "once", "always"] = "once"
    """When to warn that workspace files were truncated: ``off``, ``once`` per session, or
    ``always``. Default ``once``."""

    context_pruning: ContextPruningConfig = Field(default_factory=ContextPruningConfig,
                                                  json_schema_extra=reload(Reload.HOT, "next-llm-call"))
    """Cache-TTL pruning of old tool results."""

    compaction: CompactionConfig = Field(default_factory=CompactionConfig,
                                         json_schema_extra=reload(Reload.HOT, "next-llm-call"))
    """History summarisation when the window fills."""

    sandbox: SandboxConfig = Field(default_factory=SandboxConfig,
                                   json_schema_extra=reload(Reload.RECREATE_CONTAINER, "sandbox-drift"))
    """Where tool commands run and with which limits."""


class AgentsConfig(StrictModel):
    """Root ``agents`` section."""

    defaults: AgentDefaults = Field(default_factory=AgentDefaults)
    """Settings for every agent run."""
