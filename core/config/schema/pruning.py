"""``agents.defaults.contextPruning``: cache-TTL pruning of old tool results (docs/design/pruning.md#cache-ttl-pruning).

Keys and defaults are OpenClaw's ``DEFAULT_CONTEXT_PRUNING_SETTINGS`` (docs/design/pruning.md#settings-and-defaults).
Two deliberate differences: OpenClaw silently normalises bad values (clamps ratios, keeps the default on a parse
error); clawtop rejects them at load with the key path, and keeps the ratios and sizes as
user-settable keys (docs/design/pruning.md#where-clawtop-differs-from-openclaw). ``costHorizonRequests`` and
``requireCachePayoff`` are clawtop's prompt-cache cost check (docs/design/pruning.md#prompt-cache-cost-of-a-prune).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self, TypeAlias

from pydantic import Field, field_validator, model_validator

from core.config.durations import duration_ms, duration_type
from core.config.schema.base import StrictModel, raise_at

__all__ = [
    "DEFAULT_HARD_CLEAR_PLACEHOLDER",
    "ContextPruningConfig",
    "HardClearConfig",
    "PruningMode",
    "PruningToolsConfig",
    "SoftTrimConfig",
]

DEFAULT_HARD_CLEAR_PLACEHOLDER = "[Old tool result content cleared]"
"""OpenClaw's hard-clear text, byte for byte (docs/design/pruning.md#hard-clear)."""

PruningMode = Literal["off", "cache-ttl"]
"""``off`` = never prune; ``cache-ttl`` = prune after an idle gap of at least ``ttl`` (docs/design/pruning.md#modes)."""

PRUNING_TTL_UNIT = "m"
"""OpenClaw reads a bare number in ``contextPruning.ttl`` as minutes; so does clawtop."""

if TYPE_CHECKING:
    # The validator builds an ``Annotated`` type at run time, which mypy cannot read as a type:
    # it checks the value type the field holds as written (``"5m"`` or a number).
    PruningTtl: TypeAlias = str | int
else:
    PruningTtl = duration_type(min_ms=0, max_ms=30 * 86_400_000, default_unit=PRUNING_TTL_UNIT)


def _clean_globs(patterns: list[str]) -> list[str]:
    # OpenClaw trims and lower-cases names and patterns and drops empty ones
    # (docs/design/pruning.md#tool-allow-and-deny-lists); clawtop does the same at load so the dashboard shows the
    # patterns as they will be matched.
    return [p.strip().lower() for p in patterns if p.strip()]


class SoftTrimConfig(StrictModel):
    """Soft trim: keep the head and tail of a long tool result with a marker in between
    (docs/design/pruning.md#soft-trim)."""

    max_chars: int = Field(4000, ge=0, le=10_000_000)
    """Results at or below this many characters are never soft-trimmed. Default 4000."""

    head_chars: int = Field(1500, ge=0, le=10_000_000)
    """Characters kept from the start of a trimmed result. Default 1500."""

    tail_chars: int = Field(1500, ge=0, le=10_000_000)
    """Characters kept from the end of a trimmed result (error messages and totals usually sit
    there). Default 1500."""


class HardClearConfig(StrictModel):
    """Hard clear: replace a whole old tool result with a placeholder (docs/design/pruning.md#hard-clear)."""

    enabled: bool = True
    """Allow hard clearing once the history ratio reaches ``hardClearRatio``; false = soft trim
    only. Default true."""

    placeholder: str = Field(DEFAULT_HARD_CLEAR_PLACEHOLDER, max_length=1000)
    """Text that replaces a cleared result; blank falls back to the default.
    Default ``[Old tool result content cleared]``."""

    @field_validator("placeholder")
    @classmethod
    def _blank_is_default(cls, value: str) -> str:
        # OpenClaw: trimmed; empty → default (docs/design/pruning.md#settings-and-defaults).
        return value.strip() or DEFAULT_HARD_CLEAR_PLACEHOLDER


class PruningToolsConfig(StrictModel):
    """Which tools' results may be pruned: case-insensitive globs, ``*`` the only wildcard,
    deny wins, empty allow = every non-denied tool (docs/design/pruning.md#tool-allow-and-deny-lists)."""

    allow: list[str] = Field(default_factory=list, max_length=1000)
    """Tool-name globs whose results may be pruned; empty = all tools. Default []."""

    deny: list[str] = Field(default_factory=list, max_length=1000)
    """Tool-name globs whose results are never pruned (wins over ``allow``). Default []."""

    @field_validator("allow", "deny")
    @classmethod
    def _normalise_globs(cls, patterns: list[str]) -> list[str]:
        return _clean_globs(patterns)


class ContextPruningConfig(StrictModel):
    """``agents.defaults.contextPruning`` (docs/design/pruning.md#settings-and-defaults,
    docs/design/pruning.md#where-clawtop-differs-from-openclaw)."""

    mode: PruningMode = "off"
    """``cache-ttl`` enables pruning; ``off`` disables it. Default ``off`` (OpenClaw; its
    Anthropic smart default is not applied by clawtop)."""

    ttl: PruningTtl = "5m"
    """Idle time since the last request to this model before a new pruning round may run, so a
    prune only rebuilds a prompt cache that has expired anyway. Duration (``"5m"``, ``"1h"``,
    ``"90s"``, or a bare number of minutes as in OpenClaw); ``"0"`` disables pruning. Tune it ≥
    the provider's cache TTL. Default ``"5m"``."""

    @property
    def ttl_ms(self) -> int:
        """``ttl`` in milliseconds (bare numbers are minutes, as OpenClaw reads them)."""
        return duration_ms(self.ttl, default_unit=PRUNING_TTL_UNIT)

    keep_last_assistants: int = Field(3, ge=0, le=1000)
    """Tool results after the last N assistant messages are protected from pruning. Default 3."""

    soft_trim_ratio: float = Field(0.3, ge=0, le=1)
    """History share of the context window (by character estimate) at which soft trimming
    starts. Default 0.3."""

    hard_clear_ratio: float = Field(0.5, ge=0, le=1)
    """History share at which old results are hard-cleared (needs ``hardClear.enabled``).
    Default 0.5."""

    min_prunable_tool_chars: int = Field(50000, ge=0, le=100_000_000)
    """Hard clear runs only if the prunable tool results total at least this many characters
    (clearing a little is not worth a cache rewrite). Default 50000."""

    soft_trim: SoftTrimConfig = Field(default_factory=SoftTrimConfig)
    """Soft-trim sizes."""

    hard_clear: HardClearConfig = Field(default_factory=HardClearConfig)
    """Hard-clear switch and placeholder."""

    tools: PruningToolsConfig = Field(default_factory=PruningToolsConfig)
    """Tool allow/deny globs."""

    cost_horizon_requests: int = Field(10, ge=1, le=10_000)
    """How many later requests a prune may take to pay back its cache rewrite before the cost
    verdict says ``does_not_pay`` (docs/design/pruning.md#prompt-cache-cost-of-a-prune). Default 10."""

    require_cache_payoff: bool = False
    """Skip pruning rounds whose cost verdict is ``does_not_pay``; false = the estimate is only
    reported (docs/design/pruning.md#prompt-cache-cost-of-a-prune). Default false."""

    @model_validator(mode="after")
    def _ratios_ordered(self) -> Self:
        if self.hard_clear_ratio < self.soft_trim_ratio:
            raise_at(
                "ContextPruningConfig",
                [(
                    ("hardClearRatio",),
                    "ratio_order",
                    f"hardClearRatio ({self.hard_clear_ratio}) must be ≥ softTrimRatio ({self.soft_trim_ratio}): "
                    "hard clearing is the stronger step",
                    self.hard_clear_ratio,
                )],
            )
        return self
