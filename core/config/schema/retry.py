"""Retry policies: the global ``retry`` section, per-provider overrides and channel policies.

Baseline is OpenClaw's retry primitive and its call-site defaults (docs/design/retry.md#defaults-at-a-glance,
docs/design/retry.md#discord, docs/design/retry.md#same-model-retry); the clawtop additions are
docs/design/retry.md#clawtop-goes-further: Retry-After as a hard floor with ``maxRetryAfterMs``
(docs/design/retry.md#no-silent-long-waits), one owner with ``deadlineMs`` (docs/design/retry.md#one-retry-owner),
``jitterMode`` plus ``retryAfterJitter`` (docs/design/retry.md#jitter-modes), and a per-provider token-bucket budget
(docs/design/retry.md#retry-budget). The keys and defaults are the table in docs/design/retry.md#retry-settings.

Override objects (``models.providers.<id>.retry``, ``channels.<ch>.accounts.<id>.retry``) leave
every key unset by default: an unset key inherits from the level above, key by key (clawtop
deep-merges account retry objects where OpenClaw replaced them wholesale, docs/design/retry.md#retry-settings). The
``merged_over`` helpers do that merge so every consumer resolves the same way.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from core.config.schema.base import MAX_TIMER_MS, StrictModel, raise_at

__all__ = [
    "ChannelRetryOverride",
    "ChannelRetryPolicy",
    "DiscordRetryPolicy",
    "JitterMode",
    "ProviderRetryOverride",
    "ProviderRetryPolicy",
    "RetryBudget",
    "RetryBudgetOverride",
    "RetryConfig",
    "TelegramRetryPolicy",
]

JitterMode = Literal["none", "proportional", "full", "decorrelated"]
"""How a backoff delay is randomised (docs/design/retry.md#jitter-modes): ``none`` = the exponential delay as is;
``proportional`` = OpenClaw's ±``jitter`` ratio; ``full`` = uniform between ``minDelayMs`` and the
exponential delay; ``decorrelated`` = AWS "decorrelated jitter" (uniform up to 3× the last delay)."""


def _reject_string_jitter(value: Any) -> Any:
    # OpenClaw accepted `jitter: "full"`; clawtop moved that to `jitterMode`, so say so instead of
    # a bare "not a number".
    if isinstance(value, str):
        raise ValueError('jitter is a ratio between 0 and 1; for full jitter set jitterMode: "full"')
    return value


def _reject_max_retries(data: Any, title: str) -> Any:
    # The provider policy used OpenClaw's controller key `maxRetries` (retries); the issue contract
    # moved it to `attempts` (first try included) so provider and channel policies count alike.
    # Point at the replacement instead of a bare "extra key".
    if isinstance(data, dict) and "maxRetries" in data:
        value = data["maxRetries"]
        hint = f" (attempts: {value + 1})" if isinstance(value, int) and not isinstance(value, bool) else ""
        raise_at(
            title,
            [(("maxRetries",), "renamed_key",
              f"maxRetries was replaced by attempts, which counts the first try{hint}", value)],
        )
    return data


def _check_delay_order(model: Any, title: str) -> None:
    lo, hi = model.min_delay_ms, model.max_delay_ms
    if lo is not None and hi is not None and hi < lo:
        raise_at(
            title,
            [(("maxDelayMs",), "delay_order", f"maxDelayMs ({hi}) must be ≥ minDelayMs ({lo})", hi)],
        )


# --- budget -----------------------------------------------------------------------------------


class RetryBudget(StrictModel):
    """Per-provider (and per channel account) token bucket that caps retries across operations.

    Each retry, a hinted wait included, costs one token; an empty bucket means no retry
    (decision ``retry_budget_exhausted``) so a failing provider cannot multiply load
    (docs/design/retry.md#retry-budget).
    """

    burst: int = Field(10, ge=1, le=10_000)
    """Bucket size in tokens = how many retries may happen back to back before the budget runs
    dry. Default 10."""

    refill_per_second: float = Field(0.1, ge=0, le=1_000)
    """Tokens added per second of wall time (0.1 = one retry regained every 10 s). 0 disables
    time-based refill. Default 0.1."""

    success_credit: float = Field(0.1, ge=0, le=10)
    """Tokens added per first-attempt success, so healthy traffic earns retries back. Default 0.1."""


class RetryBudgetOverride(StrictModel):
    """Per-provider override of ``retry.budget``; an unset key inherits the global value."""

    burst: int | None = Field(None, ge=1, le=10_000)
    """Bucket size in tokens for this provider; unset = ``retry.budget.burst``."""

    refill_per_second: float | None = Field(None, ge=0, le=1_000)
    """Tokens per second for this provider; unset = ``retry.budget.refillPerSecond``."""

    success_credit: float | None = Field(None, ge=0, le=10)
    """Tokens per first-attempt success for this provider; unset = ``retry.budget.successCredit``."""

    def merged_over(self, base: RetryBudget) -> RetryBudget:
        """The effective budget: keys set here win, the rest come from ``base``."""
        return base.model_copy(update=self.model_dump(exclude_none=True, by_alias=False))


# --- model providers --------------------------------------------------------------------------


class ProviderRetryPolicy(StrictModel):
    """Same-model retry of provider calls (OpenClaw's failover retry controller, docs/design/retry.md#same-model-retry),
    made a file key (docs/design/retry.md#retry-settings). Used by every provider unless its own ``retry`` overrides a
    key."""

    attempts: int = Field(4, ge=1, le=21)
    """Attempts including the first try (OpenClaw's counting, as in ``channels.*.retry``): 4 =
    the first call plus OpenClaw's controller default of 3 retries (``retry.provider.maxRetries``
    3, docs/design/retry.md#same-model-retry, docs/design/retry.md#retry-settings). 1 disables same-model retries so
    failover happens at once. Default 4."""

    min_delay_ms: int = Field(1000, ge=0, le=MAX_TIMER_MS)
    """First backoff delay in ms; retry n waits about ``minDelayMs × 2^(n−1)``. Also the floor
    under a server's Retry-After. Default 1000."""

    max_delay_ms: int = Field(30000, ge=0, le=MAX_TIMER_MS)
    """Cap on the exponential backoff in ms (never shortens a Retry-After,
    docs/design/retry.md#retry-after-as-a-hard-floor). Must be ≥ ``minDelayMs``. Default 30000."""

    jitter_mode: JitterMode = "proportional"
    """Randomisation of the backoff (docs/design/retry.md#jitter-modes); ``proportional`` with ``jitter`` 0.5 reproduces
    OpenClaw's ``exp × (0.5 + U)``. Default ``proportional``."""

    jitter: float = Field(0.5, ge=0, le=1)
    """Spread ratio for ``proportional`` jitter: the delay varies by ±``jitter`` × delay, so
    clients that failed together do not retry together. Ignored by the other modes. Default 0.5."""

    rate_limit_attempts: int = Field(10, ge=1, le=100)
    """Attempt cap, first try included, once a call has seen a rate limit (429): a provider
    operation that hit one may go on to this many attempts even when ``attempts`` is lower,
    because short-window limits clear if one waits them out. Never lowers ``attempts``; with
    ``attempts`` 1 there are no same-model retries at all. Default 10 (OpenClaw's
    ``MAX_RATE_LIMIT_ATTEMPTS``)."""

    @model_validator(mode="before")
    @classmethod
    def _renamed_max_retries(cls, data: Any) -> Any:
        return _reject_max_retries(data, "ProviderRetryPolicy")

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter_is_a_ratio(cls, value: Any) -> Any:
        return _reject_string_jitter(value)

    @model_validator(mode="after")
    def _delays_ordered(self) -> Self:
        _check_delay_order(self, "ProviderRetryPolicy")
        return self


class ProviderRetryOverride(StrictModel):
    """``models.providers.<id>.retry``: per-provider override of ``retry.provider``,
    ``retry.budget`` and the global hint/deadline limits (docs/design/retry.md#retry-settings). Unset keys inherit."""

    attempts: int | None = Field(None, ge=1, le=21)
    """Attempts including the first try for this provider; unset = ``retry.provider.attempts``."""

    min_delay_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """First backoff delay in ms; unset = ``retry.provider.minDelayMs``."""

    max_delay_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """Backoff cap in ms; unset = ``retry.provider.maxDelayMs``."""

    jitter_mode: JitterMode | None = None
    """Backoff randomisation for this provider; unset = ``retry.provider.jitterMode``."""

    jitter: float | None = Field(None, ge=0, le=1)
    """Proportional jitter ratio; unset = ``retry.provider.jitter``."""

    rate_limit_attempts: int | None = Field(None, ge=1, le=100)
    """Attempt cap after a rate limit for this provider; unset =
    ``retry.provider.rateLimitAttempts``."""

    retry_after_jitter: float | None = Field(None, ge=0, le=1)
    """Upward spread on server-requested waits; unset = ``retry.retryAfterJitter``."""

    max_retry_after_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """Longest Retry-After this provider's calls will sleep, in ms; unset =
    ``retry.maxRetryAfterMs``."""

    deadline_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """Retry window from the first failure, in ms; unset = ``retry.deadlineMs``."""

    budget: RetryBudgetOverride = Field(default_factory=RetryBudgetOverride)
    """Retry budget for this provider's bucket; unset keys inherit ``retry.budget``."""

    @model_validator(mode="before")
    @classmethod
    def _renamed_max_retries(cls, data: Any) -> Any:
        return _reject_max_retries(data, "ProviderRetryOverride")

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter_is_a_ratio(cls, value: Any) -> Any:
        return _reject_string_jitter(value)

    @model_validator(mode="after")
    def _delays_ordered(self) -> Self:
        _check_delay_order(self, "ProviderRetryOverride")
        return self

    def merged_over(self, base: ProviderRetryPolicy) -> ProviderRetryPolicy:
        """The effective ``retry.provider`` policy for this provider (keys set here win).

        ``retryAfterJitter``, ``maxRetryAfterMs``, ``deadlineMs`` and ``budget`` live at other
        levels of the global section; resolve those with :meth:`RetryConfig.for_provider`.
        """
        keys = set(ProviderRetryPolicy.model_fields)
        update = {k: v for k, v in self.model_dump(exclude_none=True, by_alias=False).items() if k in keys}
        merged = base.model_dump(by_alias=False) | update
        # Re-validate: a provider's min over the global max must fail here, not at the first retry.
        return ProviderRetryPolicy.model_validate(
            {ProviderRetryPolicy.model_fields[k].alias: v for k, v in merged.items()}
        )


# --- global section ---------------------------------------------------------------------------


class RetryConfig(StrictModel):
    """Root ``retry`` section: limits that apply to every retry owner (docs/design/retry.md#clawtop-goes-further)."""

    max_retry_after_ms: int = Field(60000, ge=0, le=MAX_TIMER_MS)
    """Longest server-requested wait (Retry-After) that is slept, in ms. A hint equal to it is
    honoured; a longer one is never slept silently: the call fails over, is parked, or fails
    with a message naming the wait (docs/design/retry.md#no-silent-long-waits). Default 60000 (OpenClaw's SDK bypass
    cap)."""

    retry_after_jitter: float = Field(0.1, ge=0, le=1)
    """Upward-only spread added on top of a Retry-After wait, as a ratio of the wait, so clients
    told the same time do not all return at once; never shortens the wait (docs/design/retry.md#jitter-modes). Default
    0.1."""

    deadline_ms: int = Field(90000, ge=0, le=MAX_TIMER_MS)
    """Retry window per operation in ms, counted from its first failure: no retry is planned
    whose sleep would end after it (decision ``retry_delay_unavailable``), and inner layers clamp
    their timeouts to what is left (docs/design/retry.md#one-retry-owner). Default 90000 (OpenClaw's outage window)."""

    provider: ProviderRetryPolicy = Field(default_factory=ProviderRetryPolicy)
    """Same-model retry policy for model-provider calls."""

    budget: RetryBudget = Field(default_factory=RetryBudget)
    """Retry budget (token bucket) per provider and per channel account."""

    def for_provider(self, override: ProviderRetryOverride | None) -> dict[str, Any]:
        """Resolved retry settings for one provider (by Python field name).

        Returns ``policy`` (a :class:`ProviderRetryPolicy`), ``budget`` (a :class:`RetryBudget`),
        ``retry_after_jitter``, ``max_retry_after_ms`` and ``deadline_ms``, with the provider's
        override applied key by key.
        """
        o = override or ProviderRetryOverride()
        return {
            "policy": o.merged_over(self.provider),
            "budget": o.budget.merged_over(self.budget),
            "retry_after_jitter": self.retry_after_jitter if o.retry_after_jitter is None else o.retry_after_jitter,
            "max_retry_after_ms": self.max_retry_after_ms if o.max_retry_after_ms is None else o.max_retry_after_ms,
            "deadline_ms": self.deadline_ms if o.deadline_ms is None else o.deadline_ms,
        }


# --- channels ---------------------------------------------------------------------------------


class ChannelRetryPolicy(StrictModel):
    """Channel API retry policy: OpenClaw's old ``RetryConfigSchema`` keys ``{attempts,
    minDelayMs, maxDelayMs, jitter}`` plus clawtop's ``jitterMode``, ``retryAfterJitter`` and
    ``maxRetryAfterMs`` (docs/design/retry.md#retry-settings). Defaults are the channel-API runner's
    (docs/design/retry.md#channel-runners)."""

    attempts: int = Field(3, ge=1, le=20)
    """Attempts including the first try: 3 means at most 2 retries (OpenClaw's counting).
    Default 3."""

    min_delay_ms: int = Field(400, ge=0, le=MAX_TIMER_MS)
    """First backoff delay in ms; doubles per retry. Also the floor under a Retry-After.
    Default 400 (Telegram; Discord uses 500)."""

    max_delay_ms: int = Field(30000, ge=0, le=MAX_TIMER_MS)
    """Cap on the exponential backoff in ms; must be ≥ ``minDelayMs``. Default 30000."""

    jitter: float = Field(0.1, ge=0, le=1)
    """Proportional jitter ratio (±10 % by default), used when ``jitterMode`` is
    ``proportional``. Default 0.1."""

    jitter_mode: JitterMode = "proportional"
    """Backoff randomisation (docs/design/retry.md#jitter-modes). Default ``proportional`` (OpenClaw's behaviour)."""

    retry_after_jitter: float = Field(0.1, ge=0, le=1)
    """Upward-only spread on server-requested waits (Telegram ``retry_after``, Discord
    ``retry_after``), as a ratio of the wait. Default 0.1."""

    max_retry_after_ms: int = Field(60000, ge=0, le=MAX_TIMER_MS)
    """Longest server-requested wait slept in ms; a longer one parks the send in the delivery
    queue or fails with the wait named (docs/design/retry.md#no-silent-long-waits). Default 60000 (OpenClaw's Telegram
    outbound cap)."""

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter_is_a_ratio(cls, value: Any) -> Any:
        return _reject_string_jitter(value)

    @model_validator(mode="after")
    def _delays_ordered(self) -> Self:
        _check_delay_order(self, type(self).__name__)
        return self


class TelegramRetryPolicy(ChannelRetryPolicy):
    """``channels.telegram.retry``: Telegram API runner defaults 3 / 400 / 30000 / 0.1
    (docs/design/retry.md#channel-runners)."""


class DiscordRetryPolicy(ChannelRetryPolicy):
    """``channels.discord.retry``: Discord runner defaults 3 / 500 / 30000 / 0.1 (docs/design/retry.md#discord)."""

    min_delay_ms: int = Field(500, ge=0, le=MAX_TIMER_MS)
    """First backoff delay in ms; doubles per retry. Also the floor under a Retry-After.
    Default 500 (Discord runner)."""


class ChannelRetryOverride(StrictModel):
    """``channels.<ch>.accounts.<id>.retry``: deep-merged field by field over the channel's
    ``retry`` (OpenClaw replaced it wholesale, docs/design/retry.md#retry-settings). Unset keys inherit."""

    attempts: int | None = Field(None, ge=1, le=20)
    """Attempts including the first try for this account; unset = the channel's ``attempts``."""

    min_delay_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """First backoff delay in ms; unset = the channel's ``minDelayMs``."""

    max_delay_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """Backoff cap in ms; unset = the channel's ``maxDelayMs``."""

    jitter: float | None = Field(None, ge=0, le=1)
    """Proportional jitter ratio; unset = the channel's ``jitter``."""

    jitter_mode: JitterMode | None = None
    """Backoff randomisation; unset = the channel's ``jitterMode``."""

    retry_after_jitter: float | None = Field(None, ge=0, le=1)
    """Upward spread on server-requested waits; unset = the channel's ``retryAfterJitter``."""

    max_retry_after_ms: int | None = Field(None, ge=0, le=MAX_TIMER_MS)
    """Longest server-requested wait slept, in ms; unset = the channel's ``maxRetryAfterMs``."""

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter_is_a_ratio(cls, value: Any) -> Any:
        return _reject_string_jitter(value)

    @model_validator(mode="after")
    def _delays_ordered(self) -> Self:
        _check_delay_order(self, "ChannelRetryOverride")
        return self

    def merged_over(self, base: ChannelRetryPolicy) -> ChannelRetryPolicy:
        """The account's effective policy: keys set here win, the rest come from ``base``.

        Re-validated, so an account ``minDelayMs`` above the channel's ``maxDelayMs`` is an error.
        """
        merged = base.model_dump(by_alias=True) | self.model_dump(exclude_none=True, by_alias=True)
        return type(base).model_validate(merged)
