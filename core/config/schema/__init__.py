"""clawtop's typed config schema (pydantic v2).

One strict model per section, keyed by the file's camelCase names (OpenClaw's where the concept
is the same). ``ClawtopConfig.model_validate(data)`` validates a parsed JSON5 document;
``redacted_dump``, ``config_hash`` and ``json_schema`` give the safe view, the bench/history hash
and the editor schema.
"""

from __future__ import annotations

from core.config.schema.accounting import ContextAccountingConfig
from core.config.schema.agents import AgentDefaults, AgentModelConfig, AgentsConfig
from core.config.schema.auth import AuthConfig, CooldownsConfig
from core.config.schema.base import REDACTED, SECRET, ModelRef, StrictModel, is_secret_field
from core.config.schema.bench import DEFAULT_BENCH_PROMPT, BenchConfig
from core.config.schema.channels import ChannelAccount, ChannelsConfig, DiscordChannelConfig, TelegramChannelConfig
from core.config.schema.compaction import CompactionConfig, MemoryFlushConfig, QualityGuardConfig
from core.config.schema.export import json_schema
from core.config.schema.gateway import GatewayConfig, ReloadConfig
from core.config.schema.introspect import SchemaField, child_keys, field_at, iter_fields, schema_paths
from core.config.schema.providers import ModelCost, ModelDefinition, ModelsConfig, ProviderConfig
from core.config.schema.pruning import ContextPruningConfig, HardClearConfig, PruningToolsConfig, SoftTrimConfig
from core.config.schema.retry import (
    ChannelRetryOverride,
    ChannelRetryPolicy,
    DiscordRetryPolicy,
    ProviderRetryOverride,
    ProviderRetryPolicy,
    RetryBudget,
    RetryBudgetOverride,
    RetryConfig,
    TelegramRetryPolicy,
)
from core.config.schema.root import ClawtopConfig
from core.config.schema.sandbox import (
    SandboxConfig,
    SandboxDockerConfig,
    SandboxExecConfig,
    SandboxPruneConfig,
    effective_memory_swap,
)
from core.config.schema.secrets import canonical_json, config_hash, redacted_dump, secret_paths
from core.config.schema.session import SessionConfig
from core.config.schema.simulator import SIM_PROVIDER_ID, FaultStep, SimFaults, SimModel, SimulatorConfig
from core.config.schema.telemetry import TelemetryConfig
from core.config.schema.ui import UiConfig

__all__ = [
    "DEFAULT_BENCH_PROMPT",
    "REDACTED",
    "SECRET",
    "SIM_PROVIDER_ID",
    "AgentDefaults",
    "AgentModelConfig",
    "AgentsConfig",
    "AuthConfig",
    "BenchConfig",
    "ChannelAccount",
    "ChannelRetryOverride",
    "ChannelRetryPolicy",
    "ChannelsConfig",
    "ClawtopConfig",
    "CompactionConfig",
    "ContextAccountingConfig",
    "ContextPruningConfig",
    "CooldownsConfig",
    "DiscordChannelConfig",
    "DiscordRetryPolicy",
    "FaultStep",
    "GatewayConfig",
    "HardClearConfig",
    "MemoryFlushConfig",
    "ModelCost",
    "ModelDefinition",
    "ModelRef",
    "ModelsConfig",
    "ProviderConfig",
    "ProviderRetryOverride",
    "ProviderRetryPolicy",
    "PruningToolsConfig",
    "QualityGuardConfig",
    "ReloadConfig",
    "RetryBudget",
    "RetryBudgetOverride",
    "RetryConfig",
    "SandboxConfig",
    "SandboxDockerConfig",
    "SandboxExecConfig",
    "SandboxPruneConfig",
    "SchemaField",
    "SessionConfig",
    "SimFaults",
    "SimModel",
    "SimulatorConfig",
    "SoftTrimConfig",
    "StrictModel",
    "TelegramChannelConfig",
    "TelegramRetryPolicy",
    "TelemetryConfig",
    "UiConfig",
    "canonical_json",
    "child_keys",
    "config_hash",
    "effective_memory_swap",
    "field_at",
    "is_secret_field",
    "iter_fields",
    "json_schema",
    "redacted_dump",
    "schema_paths",
    "secret_paths",
]
