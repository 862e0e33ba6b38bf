"""``auth``: auth-profile cooldown ladders (docs/design/retry.md#auth-profile-cooldowns,
docs/design/retry.md#cooldown-settings).

Current OpenClaw documents these numbers as built in; clawtop accepts the keys again with bounds
(docs/design/retry.md#retry-settings). Defaults are OpenClaw's.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from core.config.schema.base import ProviderId, StrictModel, raise_at
from core.config.schema.reload import Reload, reload

__all__ = ["AuthConfig", "CooldownsConfig"]


class CooldownsConfig(StrictModel):
    """``auth.cooldowns``: how long a failing auth profile is benched."""

    billing_backoff_hours: float = Field(5, ge=1 / 60, le=720)
    """First disable period after a billing failure, in hours; doubles per repeat up to
    ``billingMaxHours``. Default 5."""

    billing_backoff_hours_by_provider: dict[ProviderId, Annotated[float, Field(ge=1 / 60, le=720)]] = Field(
        default_factory=dict
    )
    """Per-provider override of ``billingBackoffHours`` (hours, > 0). Default {}."""

    billing_max_hours: float = Field(24, ge=1 / 60, le=720)
    """Longest billing disable, in hours; must be ≥ ``billingBackoffHours``. Default 24."""

    auth_permanent_backoff_minutes: float = Field(10, ge=1, le=43_200)
    """First disable period after a permanent auth failure (revoked key), in minutes; doubles
    per repeat. Default 10."""

    auth_permanent_max_minutes: float = Field(60, ge=1, le=43_200)
    """Longest permanent-auth disable, in minutes; must be ≥ the backoff. Default 60."""

    failure_window_hours: float = Field(24, gt=0, le=720)
    """Failure counters reset when the last failure is older than this, in hours. Default 24."""

    overloaded_profile_rotations: int = Field(1, ge=0, le=100)
    """Same-provider profile rotations on ``overloaded`` before falling back to the next model.
    Default 1."""

    overloaded_backoff_ms: int = Field(0, ge=0, le=600_000)
    """Fixed sleep in ms before an overloaded rotation. Default 0."""

    rate_limited_profile_rotations: int = Field(1, ge=0, le=100)
    """Same-provider profile rotations on ``rate_limit`` before model fallback. Default 1."""

    @model_validator(mode="after")
    def _max_at_least_base(self) -> Self:
        errors = []
        if self.billing_max_hours < self.billing_backoff_hours:
            errors.append((("billingMaxHours",), "max_below_base",
                           f"billingMaxHours ({self.billing_max_hours}) must be ≥ "
                           f"billingBackoffHours ({self.billing_backoff_hours})",
                           self.billing_max_hours))
        if self.auth_permanent_max_minutes < self.auth_permanent_backoff_minutes:
            errors.append((("authPermanentMaxMinutes",), "max_below_base",
                           f"authPermanentMaxMinutes ({self.auth_permanent_max_minutes}) must be ≥ "
                           f"authPermanentBackoffMinutes ({self.auth_permanent_backoff_minutes})",
                           self.auth_permanent_max_minutes))
        raise_at("CooldownsConfig", errors)
        return self


class AuthConfig(StrictModel):
    """Root ``auth`` section."""

    cooldowns: CooldownsConfig = Field(default_factory=CooldownsConfig,
                                       json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Cooldown and disable ladders for failing auth profiles."""
