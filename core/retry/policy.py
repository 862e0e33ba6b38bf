"""The resolved, immutable retry policy one operation runs with, built from config.

Why a separate object: config models are per section and use different counting for history
reasons; the engine wants one flat, validated set of numbers. In-flight operations keep the
policy they started with; a config reload only affects the next operation (docs/design/retry.md#retry-settings).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.config.schema.channels import DiscordChannelConfig, TelegramChannelConfig
from core.config.schema.retry import ChannelRetryOverride, ChannelRetryPolicy, ProviderRetryOverride, RetryConfig
from core.config.schema.root import ClawtopConfig
from core.retry.budget import BudgetSettings
from core.retry.jitter import JitterMode

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Everything the engine needs to decide and time retries.

    ``attempts`` counts the first try. ``rate_limit_attempts`` (≥ ``attempts``) applies once a
    ``rate_limit`` was seen. ``deadline_ms`` is the retry window from the first failure (0 = no
    window). ``budget`` None = no retry budget. ``name`` only labels events.

    No field has a default of its own: the defaults live in the config schema, so a policy is
    built from a schema model (:meth:`for_provider`, :meth:`for_channel`, :meth:`from_config`)
    or is :meth:`default` — the provider policy of an all-defaults config — changed with
    :meth:`with_`.
    """

    attempts: int
    min_delay_ms: int
    max_delay_ms: int
    jitter: float
    jitter_mode: JitterMode
    retry_after_jitter: float
    max_retry_after_ms: int
    deadline_ms: int
    rate_limit_attempts: int | None
    budget: BudgetSettings | None
    name: str

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try and must be ≥ 1")
        if self.min_delay_ms < 0 or self.max_delay_ms < 0:
            raise ValueError("delays must be ≥ 0")
        if not 0 <= self.jitter <= 1 or not 0 <= self.retry_after_jitter <= 1:
            raise ValueError("jitter ratios must be within [0, 1]")

    @property
    def effective_max_delay_ms(self) -> int:
        """``maxDelayMs`` raised to at least ``minDelayMs`` (OpenClaw's normalisation,
        docs/design/retry.md#settings-and-normalisation)."""
        return max(self.max_delay_ms, self.min_delay_ms)

    def max_attempts(self, saw_rate_limit: bool) -> int:
        """Attempt cap, raised to ``rate_limit_attempts`` after a rate limit."""
        if saw_rate_limit and self.rate_limit_attempts is not None:
            return max(self.attempts, self.rate_limit_attempts)
        return self.attempts

    def describe(self) -> str:
        """Short text for events: ``attempts=4 min=1000 max=30000 jitter=proportional(0.5) …``."""
        jitter = f"{self.jitter_mode}({self.jitter:g})" if self.jitter_mode == "proportional" else self.jitter_mode
        budget = f" budget={self.budget.burst}" if self.budget else ""
        return (f"{self.name}: attempts={self.attempts} min={self.min_delay_ms} max={self.max_delay_ms} "
                f"jitter={jitter} maxRetryAfter={self.max_retry_after_ms} deadline={self.deadline_ms}{budget}")

    def with_(self, **changes: object) -> RetryPolicy:
        """A copy with some values changed (per-call overrides, tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def default(cls) -> RetryPolicy:
        """The provider policy built from the schema's defaults (``RetryConfig()``), named
        ``default``."""
        return replace(cls.for_provider(RetryConfig(), "default"), name="default")

    @classmethod
    def for_provider(
        cls, retry: RetryConfig, provider_id: str, override: ProviderRetryOverride | None = None
    ) -> RetryPolicy:
        """``models.providers.<id>.retry`` merged key by key over ``retry.provider``,
        ``retry.budget`` and the global limits (see :meth:`RetryConfig.for_provider`)."""
        r = retry.for_provider(override)
        p, b = r["policy"], r["budget"]
        return cls(
            attempts=p.attempts,
            min_delay_ms=p.min_delay_ms,
            max_delay_ms=p.max_delay_ms,
            jitter=p.jitter,
            jitter_mode=p.jitter_mode,
            retry_after_jitter=r["retry_after_jitter"],
            max_retry_after_ms=r["max_retry_after_ms"],
            deadline_ms=r["deadline_ms"],
            # attempts 1 disables same-model retries, a rate limit included (failover at once).
            rate_limit_attempts=max(p.attempts, p.rate_limit_attempts) if p.attempts > 1 else 1,
            budget=BudgetSettings.from_config(b),
            name=f"provider:{provider_id}",
        )

    @classmethod
    def for_channel(
        cls,
        retry: RetryConfig,
        channel: str,
        policy: ChannelRetryPolicy,
        account_override: ChannelRetryOverride | None = None,
    ) -> RetryPolicy:
        """``channels.<ch>.retry`` (with an account override deep-merged over it); the deadline
        and budget come from the global ``retry`` section."""
        p = account_override.merged_over(policy) if account_override is not None else policy
        b = retry.budget
        return cls(
            attempts=p.attempts,
            min_delay_ms=p.min_delay_ms,
            max_delay_ms=p.max_delay_ms,
            jitter=p.jitter,
            jitter_mode=p.jitter_mode,
            retry_after_jitter=p.retry_after_jitter,
            max_retry_after_ms=p.max_retry_after_ms,
            deadline_ms=retry.deadline_ms,
            rate_limit_attempts=None,
            budget=BudgetSettings.from_config(b),
            name=f"channel:{channel}",
        )

    @classmethod
    def from_config(cls, config: ClawtopConfig, *, provider: str | None = None, channel: str | None = None,
                    account: str | None = None) -> RetryPolicy:
        """Policy from a root config: ``provider=`` for model calls, ``channel=`` (``telegram`` /
        ``discord``, optional ``account=``) for channel calls."""
        retry = config.retry
        if provider is not None:
            prov = config.models.providers.get(provider)
            return cls.for_provider(retry, provider, prov.retry if prov is not None else None)
        if channel is not None:
            channels: dict[str, TelegramChannelConfig | DiscordChannelConfig] = {
                "telegram": config.channels.telegram, "discord": config.channels.discord}
            if channel not in channels:
                raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(channels)}")
            ch = channels[channel]
            acc = ch.accounts.get(account) if account else None
            return cls.for_channel(retry, channel, ch.retry, acc.retry if acc is not None else None)
        raise ValueError("from_config needs provider= or channel=")
