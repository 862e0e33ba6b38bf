"""The simulator's shared runtime state: models, fault plan, rate limiter, prompt cache, counters.

Built once per :class:`core.sim.SimulatorServer` from the config plus command-line overrides, and
read by every exchange. The counters are only touched on the event loop thread, so plain ones
suffice; the fault plan is also changed from outside a request (reload, injection) and locks.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

from core.config.durations import duration_ms
from core.config.schema.simulator import SimFaults, SimModel, SimulatorConfig
from core.events.base import Event
from core.sim.cache import PromptCache
from core.sim.faults import FaultPlan, FaultSpec, parse_script
from core.sim.ratelimit import RateLimiter
from core.sim.request import RequestError, model_name

__all__ = ["SimState", "SimStats"]


@dataclasses.dataclass(slots=True)
class SimStats:
    """Live counters (read by ``clawtop sim`` on exit, the dashboard, and tests)."""

    requests: int = 0
    """Generation requests received (``POST`` to either API), including rejected ones."""
    active: int = 0
    """Generation requests in progress."""
    connections: int = 0
    """Open client connections."""
    by_status: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    """Responses by HTTP status (a ``timeout`` fault sends none)."""
    faults_injected: int = 0
    faults_by_token: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    rate_limited: int = 0
    """429s from the simulated rate limiter (not injected)."""
    cache_hits: int = 0
    """Requests that read a prefix from the prompt cache."""
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    input_tokens: int = 0
    """Prompt tokens of answered requests (cached parts included)."""
    output_tokens: int = 0
    """Output tokens actually sent."""


class SimState:
    """What every exchange needs, resolved from config and overrides."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        script: str | None,
        fault_rate: float | None,
        seed: int | None,
        publish: Callable[[Event], None] | None,
    ) -> None:
        faults = config.faults
        self.models: dict[str, SimModel] = dict(config.models)
        self.seed_override = seed
        self._script_override = script
        self._rate_override = fault_rate
        self.faults = FaultPlan(
            self._script(faults),
            fault_rate=self._rate(faults),
            random_faults=parse_script(faults.random_faults),
            seed=seed if seed is not None else faults.seed,
        )
        limits = config.rate_limits
        self.limiter = RateLimiter(rpm=limits.rpm, input_tpm=limits.input_tpm, output_tpm=limits.output_tpm)
        self.default_ttl_ms = duration_ms(config.cache.default_ttl)
        self.cache = PromptCache(min_tokens=config.cache.min_cacheable_tokens, default_ttl_ms=self.default_ttl_ms)
        self.stats = SimStats()
        self.publish = publish

    # Command-line values win; the config's own only count while faults.enabled is true.
    def _script(self, faults: SimFaults) -> list[FaultSpec]:
        return parse_script(self._script_override if self._script_override is not None
                            else faults.script if faults.enabled else [])

    def _rate(self, faults: SimFaults) -> float:
        if self._rate_override is not None:
            return self._rate_override
        return faults.fault_rate if faults.enabled else 0.0

    def reconfigure_faults(self, faults: SimFaults, *, new_script: bool) -> None:
        """Apply a reloaded ``simulator.faults`` to the running plan. ``new_script`` (the script or
        the master switch changed) restarts the script from its first token; otherwise the script
        keeps its place. A command-line override keeps winning over the file."""
        script = self._script(faults) if new_script and self._script_override is None else None
        self.faults.reconfigure(script=script, fault_rate=self._rate(faults),
                                random_faults=parse_script(faults.random_faults))

    def model(self, requested: str) -> tuple[str, SimModel]:
        """The simulated model a request names, or a 404 ``not_found_error``."""
        name = model_name(requested)
        found = self.models.get(name)
        if found is None:
            known = ", ".join(sorted(self.models))
            raise RequestError(404, "not_found", f"model: {requested} (simulated models: {known})")
        return name, found

    def seed_for(self, model: SimModel) -> int:
        """Reply seed: ``--seed`` when given, else the model's own."""
        return self.seed_override if self.seed_override is not None else model.seed
