"""``ClawtopConfig``: the root of the config file, and the checks that span sections.

Cross-section checks (model refs naming a provider that exists, the reserved ``sim`` id) are
reported at the exact key to edit, e.g. ``agents.defaults.model.fallbacks.1``.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from core.config.schema.accounting import ContextAccountingConfig
from core.config.schema.agents import AgentsConfig
from core.config.schema.auth import AuthConfig
from core.config.schema.base import StrictModel, raise_at
from core.config.schema.bench import BenchConfig
from core.config.schema.channels import ChannelsConfig
from core.config.schema.gateway import GatewayConfig
from core.config.schema.providers import ModelsConfig
from core.config.schema.reload import Reload, reload
from core.config.schema.retry import RetryConfig
from core.config.schema.session import SessionConfig
from core.config.schema.simulator import SIM_PROVIDER_ID, SimulatorConfig
from core.config.schema.telemetry import TelemetryConfig
from core.config.schema.ui import UiConfig

__all__ = ["ClawtopConfig"]


class ClawtopConfig(StrictModel):
    """The whole config file. Every key is optional; an empty file (or none) is all defaults,
    with the built-in simulator as the model (docs/design/config.md#clawtop-goes-further)."""

    schema_: str | None = Field(None, alias="$schema")
    """URL or path of the JSON Schema, for editor completion only; the one root key that is not
    a setting (as in OpenClaw). Not part of the config hash."""

    gateway: GatewayConfig = Field(default_factory=GatewayConfig,
                                   json_schema_extra=reload(Reload.RESTART, "restart-core"))
    """Gateway listener and config reload."""

    models: ModelsConfig = Field(default_factory=ModelsConfig)
    """Model providers."""

    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    """Built-in provider simulator (provider id ``sim``)."""

    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    """Agent defaults: model, context pruning, compaction, sandbox."""

    retry: RetryConfig = Field(default_factory=RetryConfig, json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Global retry limits and the provider retry policy."""

    auth: AuthConfig = Field(default_factory=AuthConfig)
    """Auth-profile cooldowns."""

    context_accounting: ContextAccountingConfig = Field(
        default_factory=ContextAccountingConfig, json_schema_extra=reload(Reload.HOT, "next-llm-call"))
    """Chars-per-token estimation."""

    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    """Chat channels (Telegram, Discord)."""

    session: SessionConfig = Field(default_factory=SessionConfig)
    """Session caches."""

    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    """Event store."""

    ui: UiConfig = Field(default_factory=UiConfig, json_schema_extra=reload(Reload.HOT, "ui"))
    """Dashboard preferences."""

    bench: BenchConfig = Field(default_factory=BenchConfig, json_schema_extra=reload(Reload.NONE, "next-bench-run"))
    """``clawtop bench`` defaults."""

    @model_validator(mode="after")
    def _refs_resolve(self) -> Self:
        errors: list[tuple[tuple[str | int, ...], str, str, object]] = []
        if SIM_PROVIDER_ID in self.models.providers:
            errors.append((
                ("models", "providers", SIM_PROVIDER_ID),
                "reserved_provider_id",
                f'provider id "{SIM_PROVIDER_ID}" is reserved for the built-in simulator; pick another id',
                SIM_PROVIDER_ID,
            ))
        for loc, ref in self.model_refs():
            problem = self._ref_problem(ref)
            if problem:
                errors.append((loc, "unknown_model_ref", problem, ref))
        raise_at("ClawtopConfig", errors)
        return self

    def model_refs(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every model ref in the config with its location (file key names)."""
        defaults = self.agents.defaults
        refs: list[tuple[tuple[str | int, ...], str]] = [
            (("agents", "defaults", "model", "primary"), defaults.model.primary),
        ]
        refs += [(("agents", "defaults", "model", "fallbacks", i), r) for i, r in enumerate(defaults.model.fallbacks)]
        if defaults.compaction.model is not None:
            refs.append((("agents", "defaults", "compaction", "model"), defaults.compaction.model))
        if defaults.compaction.memory_flush.model is not None:
            refs.append(
                (("agents", "defaults", "compaction", "memoryFlush", "model"), defaults.compaction.memory_flush.model)
            )
        refs += [(("bench", "models", i), r) for i, r in enumerate(self.bench.models)]
        return refs

    def _ref_problem(self, ref: str) -> str | None:
        provider, _, model = ref.partition("/")
        if provider == SIM_PROVIDER_ID:
            if not self.simulator.enabled:
                return f"{ref!r} uses the simulator, but simulator.enabled is false"
            if model not in self.simulator.models:
                return f"{ref!r}: no simulated model {model!r}; known: {', '.join(sorted(self.simulator.models))}"
            return None
        if provider not in self.models.providers:
            known = sorted([*self.models.providers, *([SIM_PROVIDER_ID] if self.simulator.enabled else [])])
            return f"{ref!r}: unknown provider {provider!r}; configured: {', '.join(known) or 'none'}"
        return None
