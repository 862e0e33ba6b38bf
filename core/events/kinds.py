"""Event kinds of the gateway shell itself: lifecycle, config reloads and log lines."""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

ReloadMode = Literal["off", "hot", "restart", "hybrid"]
"""``gateway.reload.mode`` (the config schema's type of the same name; a test keeps them equal)."""
ReloadAction = Literal["applied", "restarted", "restart-skipped", "ignored"]
"""What the gateway did with a valid changed config."""
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStarted(Event):
    """The gateway finished starting; ``config_source`` says where its config came from."""

    kind = "gateway.started"
    config_source: str
    state_dir: str


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStopped(Event):
    """The gateway stopped cleanly (the store flushes right after this event)."""

    kind = "gateway.stopped"
    reason: str = "stop"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConfigReloaded(Event):
    """A changed config file was validated and handled per ``gateway.reload.mode``.

    ``restart_paths`` are the changed paths whose effect needs a core restart (reload plan);
    ``action`` says what the gateway did: ``applied`` (hot), ``restarted`` (core restarted in
    process), ``restart-skipped`` (mode ``hot``: applied what could be, restart still pending)
    or ``ignored`` (mode ``off``).
    """

    kind = "config.reloaded"
    changed_paths: tuple[str, ...]
    hot_paths: tuple[str, ...] = ()
    restart_paths: tuple[str, ...] = ()
    none_paths: tuple[str, ...] = ()
    mode: ReloadMode = "hybrid"
    action: ReloadAction = "applied"
    note: str = ""


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConfigInvalid(Event):
    """A changed config file failed validation; the previous config stays in force."""

    kind = "config.invalid"
    path: str
    issues: tuple[str, ...]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogMessage(Event):
    """A human-readable line from the core (warnings, notices) that is also worth keeping."""

    kind = "log"
    level: LogLevel
    message: str
