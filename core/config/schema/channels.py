"""``channels``: chat-channel settings clawtop uses — the retry policy of each channel's API
calls and per-account overrides (docs/design/retry.md#telegram, docs/design/retry.md#discord,
docs/design/retry.md#retry-settings).

OpenClaw made channel retry timings built in (docs/design/retry.md#telegram); clawtop accepts OpenClaw's older
keys again and deep-merges account objects over the channel's (docs/design/retry.md#retry-settings).
"""

from __future__ import annotations

from pydantic import Field

from core.config.schema.base import ProviderId, StrictModel
from core.config.schema.reload import Reload, reload
from core.config.schema.retry import ChannelRetryOverride, DiscordRetryPolicy, TelegramRetryPolicy

__all__ = ["ChannelAccount", "ChannelsConfig", "DiscordChannelConfig", "TelegramChannelConfig"]


class ChannelAccount(StrictModel):
    """``channels.<ch>.accounts.<id>``: per-account overrides."""

    retry: ChannelRetryOverride = Field(default_factory=ChannelRetryOverride,
                                        json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Retry keys for this account; unset keys inherit the channel's ``retry``."""


class TelegramChannelConfig(StrictModel):
    """``channels.telegram``."""

    retry: TelegramRetryPolicy = Field(default_factory=TelegramRetryPolicy,
                                       json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Retry policy for Telegram Bot API calls. Defaults 3 attempts / 400 ms / 30000 ms / 0.1."""

    accounts: dict[ProviderId, ChannelAccount] = Field(default_factory=dict)
    """Per-bot-account overrides by account id. Default {}."""


class DiscordChannelConfig(StrictModel):
    """``channels.discord``."""

    retry: DiscordRetryPolicy = Field(default_factory=DiscordRetryPolicy,
                                      json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Retry policy for Discord REST calls. Defaults 3 attempts / 500 ms / 30000 ms / 0.1."""

    accounts: dict[ProviderId, ChannelAccount] = Field(default_factory=dict)
    """Per-bot-account overrides by account id. Default {}."""


class ChannelsConfig(StrictModel):
    """Root ``channels`` section."""

    telegram: TelegramChannelConfig = Field(default_factory=TelegramChannelConfig)
    """Telegram channel settings."""

    discord: DiscordChannelConfig = Field(default_factory=DiscordChannelConfig)
    """Discord channel settings."""
