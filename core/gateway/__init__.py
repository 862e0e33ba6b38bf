"""The gateway: one object that owns the config, the event bus, the telemetry store, the model
providers (with the built-in simulator), the retry engine and the chat service.

:mod:`core.gateway.gateway` builds it and runs its lifecycle and config reload;
:mod:`core.gateway.facade` is what a front end asks of it (:class:`core.view.GatewayView`);
:mod:`core.gateway.state` its lifecycle states.
"""

from core.gateway.gateway import STOP_GRACE_S, Gateway
from core.gateway.state import GatewayState

__all__ = ["Gateway", "GatewayState", "STOP_GRACE_S"]
