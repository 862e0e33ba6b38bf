"""The plan that decides each simulated generation request's outcome: one-shot injections first,
then the script, then a random fault rate. The token grammar lives in :mod:`core.faults` (a leaf the config schema also
imports); its names are re-exported here for the simulator's modules.
"""

from __future__ import annotations

import collections
import random
import threading
from collections.abc import Sequence

from core.faults import (
    DEFAULT_RANDOM_FAULTS,
    FAULT_VOCABULARY,
    OK,
    STATUS_FAULTS,
    FaultKind,
    FaultSpec,
    parse_fault_token,
    parse_script,
    split_script,
)

__all__ = [
    "DEFAULT_RANDOM_FAULTS",
    "FAULT_VOCABULARY",
    "OK",
    "STATUS_FAULTS",
    "FaultInjectionError",
    "FaultKind",
    "FaultPlan",
    "FaultSpec",
    "parse_fault_token",
    "parse_script",
    "split_script",
]


class FaultInjectionError(ValueError):
    """A one-shot fault could not be queued: the token is not in the vocabulary (the message
    lists it) or there is no running simulator to serve it."""


class FaultPlan:
    """Decides the outcome of each successive generation request: one-shot injections first,
    then the script, then the rate.

    The random draw uses its own generator seeded with ``seed``, so a run with the same script,
    rate and seed injects the same faults in the same places (given the same request order).

    The plan is changed while the simulator serves (a config reload, a fault injected from the
    dashboard, possibly from another thread), so every read and change holds one lock: a request
    draws its outcome exactly once, and a change only affects the draws after it.
    """

    def __init__(
        self,
        script: Sequence[FaultSpec] = (),
        *,
        fault_rate: float = 0.0,
        random_faults: Sequence[FaultSpec] = (),
        seed: int = 0,
    ) -> None:
        _check_rate(fault_rate, random_faults)
        self._lock = threading.Lock()
        self._script = list(script)
        self._script_index = 0
        self._rate = fault_rate
        self._random = list(random_faults)
        self._rng = random.Random(seed)
        self._injected: collections.deque[FaultSpec] = collections.deque()
        self.position = 0
        """Generation requests decided so far."""

    @property
    def script_remaining(self) -> int:
        """Scripted outcomes not yet used."""
        with self._lock:
            return max(0, len(self._script) - self._script_index)

    @property
    def injected_pending(self) -> int:
        """One-shot faults waiting for a request."""
        with self._lock:
            return len(self._injected)

    def next(self) -> FaultSpec:
        """The outcome for the next request (consumes an injection or advances the script)."""
        with self._lock:
            self.position += 1
            if self._injected:
                return self._injected.popleft()
            if self._script_index < len(self._script):
                self._script_index += 1
                return self._script[self._script_index - 1]
            if self._rate > 0 and self._rng.random() < self._rate:
                return self._rng.choice(self._random)
            return OK

    def inject(self, fault: FaultSpec) -> int:
        """Serve ``fault`` to the next request not already served one, ahead of the script (which
        does not advance for it); returns the injections now waiting, this one included."""
        with self._lock:
            self._injected.append(fault)
            return len(self._injected)

    def reconfigure(
        self,
        *,
        script: Sequence[FaultSpec] | None,
        fault_rate: float,
        random_faults: Sequence[FaultSpec],
    ) -> None:
        """Replace the plan's settings in place. A new ``script`` starts from its first token;
        ``None`` keeps the current one where it is. The random generator carries on (its seed is
        not one of the settings changed here), and waiting injections stay queued."""
        _check_rate(fault_rate, random_faults)
        with self._lock:
            if script is not None:
                self._script = list(script)
                self._script_index = 0
            self._rate = fault_rate
            self._random = list(random_faults)


def _check_rate(fault_rate: float, random_faults: Sequence[FaultSpec]) -> None:
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault rate {fault_rate} is outside 0–1")
    if fault_rate > 0 and not random_faults:
        raise ValueError("a fault rate needs at least one random fault token")
