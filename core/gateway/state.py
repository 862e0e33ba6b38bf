"""The gateway's lifecycle states (their own module: the lifecycle and the front-end facade both read
them, and the facade is a base of the gateway)."""

from __future__ import annotations

import enum


class GatewayState(enum.Enum):
    """Lifecycle of the gateway, shown in the dashboard's status bar."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
