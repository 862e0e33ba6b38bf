"""Events the simulator publishes: one per generation request, and one per one-shot fault queued.

A request that got an injected fault is a :class:`SimFaultInjected`; every other one (including
a 429 from the simulated rate limiter or a 400 for a bad body) is a :class:`SimRequestServed`.
A fault queued for the next request (the dashboard's "Inject fault…") is a :class:`SimFaultQueued`;
the request that meets it later is a :class:`SimFaultInjected` like any scripted one.
The dashboard and ``clawtop sim``'s request log read them; the bench compares its own client-side
TTFT with ``ttft_ms`` to see the measurement overhead.
"""

from __future__ import annotations

import dataclasses

from core.events.base import Event, register_kind

__all__ = ["SimFaultInjected", "SimFaultQueued", "SimRequestEvent", "SimRequestServed"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimRequestEvent(Event):
    """Fields shared by both simulator events (not registered itself: never published as is).

    ``api`` is ``anthropic`` or ``openai``; ``status`` the HTTP status sent (200 also for a
    ``reset`` or ``stream-error`` that failed after it, and None for ``timeout``); ``ttft_ms``
    the server-side time from request to first output delta (None when no output was sent);
    ``duration_ms`` until the response ended or the connection was given up; ``limited_by`` the
    exhausted rate-limit bucket (``requests``, ``input_tokens``, ``output_tokens``) for a
    simulated 429; ``error`` a short note when the exchange did not complete (client went away).
    """

    kind = "sim.request"
    model: str
    api: str
    method: str = "POST"
    path: str = ""
    status: int | None = None
    fault: str | None = None
    stream: bool = False
    ttft_ms: float | None = None
    duration_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    stop_reason: str | None = None
    limited_by: str | None = None
    error: str | None = None


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimRequestServed(SimRequestEvent):
    """A generation request handled without an injected fault."""

    kind = "sim.request_served"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimFaultInjected(SimRequestEvent):
    """A generation request that got a scripted or random fault (``fault`` is its token)."""

    kind = "sim.fault_injected"


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SimFaultQueued(Event):
    """A one-shot fault was queued: the next generation request gets ``token``, ahead of the
    fault script. ``pending`` counts the one-shot faults now waiting, this one included."""

    kind = "sim.fault_queued"
    token: str
    pending: int
