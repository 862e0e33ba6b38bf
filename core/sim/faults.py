"""The plan that decides each simulated generation request's outcome: script first, then a
random fault rate. The token grammar lives in :mod:`core.faults` (a leaf the config schema also
imports); its names are re-exported here for the simulator's modules.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from core.faults import (
    DEFAULT_RANDOM_FAULTS,
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
    "OK",
    "STATUS_FAULTS",
    "FaultKind",
    "FaultPlan",
    "FaultSpec",
    "parse_fault_token",
    "parse_script",
    "split_script",
]


class FaultPlan:
    """Decides the outcome of each successive generation request: script first, then the rate.

    The random draw uses its own generator seeded with ``seed``, so a run with the same script,
    rate and seed injects the same faults in the same places (given the same request order).
    """

    def __init__(
        self,
        script: Sequence[FaultSpec] = (),
        *,
        fault_rate: float = 0.0,
        random_faults: Sequence[FaultSpec] = (),
        seed: int = 0,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault rate {fault_rate} is outside 0–1")
        if fault_rate > 0 and not random_faults:
            raise ValueError("a fault rate needs at least one random fault token")
        self._script = list(script)
        self._rate = fault_rate
        self._random = list(random_faults)
        self._rng = random.Random(seed)
        self.position = 0
        """Generation requests decided so far."""

    @property
    def script_remaining(self) -> int:
        """Scripted outcomes not yet used."""
        return max(0, len(self._script) - self.position)

    def next(self) -> FaultSpec:
        """The outcome for the next request (advances the script)."""
        index = self.position
        self.position += 1
        if index < len(self._script):
            return self._script[index]
        if self._rate > 0 and self._rng.random() < self._rate:
            return self._rng.choice(self._random)
        return OK
