"""Typed, frozen events and the in-process bus that carries them.

Every decision the core makes is published as an :class:`Event`; the telemetry store persists
them and the dashboard renders them. Later capabilities add their own kinds in their own modules.
"""

from core.events.base import Event, event_kinds, register_kind
from core.events.bus import EventBus, Subscription
from core.events.kinds import (
    ConfigInvalid,
    ConfigReloaded,
    GatewayStarted,
    GatewayStopped,
    LogLevel,
    LogMessage,
    ReloadAction,
    ReloadMode,
)

__all__ = [
    "ConfigInvalid",
    "ConfigReloaded",
    "Event",
    "EventBus",
    "GatewayStarted",
    "GatewayStopped",
    "LogLevel",
    "LogMessage",
    "ReloadAction",
    "ReloadMode",
    "Subscription",
    "event_kinds",
    "register_kind",
]
