"""``gateway``: the control-plane listener and config hot reload (docs/design/config.md#hot-reload,
docs/design/config.md#gateway-listener, docs/design/config.md#clawtop-goes-further).

Port 18789 and loopback binding are OpenClaw's defaults. Reload: clawtop keeps all four modes
(OpenClaw folded ``hot`` and ``restart`` into ``hybrid``) and makes ``debounceMs`` configurable.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator

from core.config.schema.base import SECRET, StrictModel
from core.config.schema.reload import Reload, reload

__all__ = ["GatewayConfig", "ReloadConfig", "ReloadMode"]

ReloadMode = Literal["off", "hot", "restart", "hybrid"]
"""``off`` = ignore file changes; ``hot`` = apply what can be applied live, never restart;
``restart`` = restart the core on any change; ``hybrid`` = hot when possible, else restart."""

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)"  # whole name at most 253 characters
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # first label
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"  # further dot-separated labels
)


class ReloadConfig(StrictModel):
    """``gateway.reload``: what happens when the config file changes on disk."""

    mode: ReloadMode = "hybrid"
    """Reload mode. An invalid file is never applied: the running config stays and the issues
    are shown. Default ``hybrid``."""

    debounce_ms: int = Field(300, ge=0, le=60_000)
    """Quiet time in ms after the last file event before reloading, so an editor's burst of
    writes causes one reload. Default 300."""

    deferral_timeout_ms: int = Field(300_000, ge=0, le=3_600_000)
    """Longest wait in ms for in-flight work before a restart is forced. Default 300000."""


class GatewayConfig(StrictModel):
    """Root ``gateway`` section (reload kind ``restart``)."""

    bind: str = "127.0.0.1"
    """Address the gateway listens on: an IP (``127.0.0.1``, ``::1``, ``0.0.0.0``) or a host
    name. Loopback by default so nothing is exposed to the network. Default ``127.0.0.1``."""

    port: int = Field(18789, ge=1, le=65_535)
    """TCP port for the gateway's WebSocket/HTTP endpoint. Default 18789 (OpenClaw's)."""

    token: str | None = Field(None, min_length=1, json_schema_extra=SECRET)
    """Shared secret clients must present; secret (redacted in every view). Use
    ``"${CLAWTOP_GATEWAY_TOKEN}"`` to keep it out of the file. Unset = no token (only safe on
    loopback)."""

    reload: ReloadConfig = Field(default_factory=ReloadConfig, json_schema_extra=reload(Reload.NONE, "reload-settings"))
    """Config hot reload."""

    @field_validator("bind")
    @classmethod
    def _address_or_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError(f"{value!r} is neither an IP address nor a host name") from None
        return value
