"""Sandbox-limits what-if: each container's recent peaks (stored ``sandbox.stats`` events) against
the current and the candidate ``cpus`` / ``memory`` / ``memorySwap`` / ``pidsLimit``.

What a limit does when it is crossed: memory above ``memory`` with no swap room (``memorySwap``
unset means equal to ``memory``) is an OOM kill; with swap room the container swaps until
memory + swap reaches ``memorySwap`` (the stats report memory only, so that case says "would
swap"); CPU above ``cpus`` × 100 % is CFS throttling; processes at ``pidsLimit`` make fork fail.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.config.schema import ClawtopConfig
from core.config.schema.sandbox import effective_memory_swap
from core.config.schema.sandbox_limits import UNLIMITED
from core.config.schema.sizes import byte_size
from core.sandbox.events import SandboxStats
from core.telemetry.records import StoredEvent
from core.tuning.preview.format import table

__all__ = ["ContainerCheck", "Limits", "SandboxPreview", "limits_of", "preview_sandbox"]

RECENT_S = 3600.0
"""How far back "recent" peaks reach."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Resolved limits; None = unlimited."""

    cpus: float | None
    memory: int | None
    memory_swap: int | None
    pids: int | None

    def to_json(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "memoryBytes": self.memory, "memorySwapBytes": self.memory_swap,
                "pidsLimit": self.pids}


def limits_of(config: ClawtopConfig) -> Limits:
    docker = config.agents.defaults.sandbox.docker
    swap = effective_memory_swap(docker)
    return Limits(
        cpus=None if docker.cpus == UNLIMITED else float(docker.cpus),
        memory=None if docker.memory == UNLIMITED else byte_size(docker.memory),
        memory_swap=None if swap is None or swap == UNLIMITED else byte_size(swap),
        pids=None if docker.pids_limit == UNLIMITED else int(docker.pids_limit),
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _clock(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One resource of one container under one set of limits."""

    resource: str
    text: str
    crossed: bool

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "text": self.text, "crossed": self.crossed}


def _first(samples: Sequence[tuple[float, float]], above: float) -> float | None:
    return next((wall for wall, value in samples if value > above), None)


def _verdicts(stats: Sequence[StoredEvent], limits: Limits) -> tuple[Verdict, ...]:
    mem = [(e.wall, float(e.payload.get("memory_bytes") or 0)) for e in stats]
    cpu = [(e.wall, float(e.payload.get("cpu_percent") or 0)) for e in stats]
    pids = [(e.wall, float(e.payload.get("pids") or 0)) for e in stats]
    out: list[Verdict] = []
    peak_mem = int(max(v for _, v in mem))
    if limits.memory is None:
        out.append(Verdict("memory", f"memory peak {_mib(peak_mem)}, no limit", False))
    elif peak_mem <= limits.memory:
        out.append(Verdict("memory", f"memory peak {_mib(peak_mem)} ≤ {_mib(limits.memory)}: fits", False))
    else:
        at = _first(mem, limits.memory) or 0.0
        room = limits.memory_swap is None or limits.memory_swap > limits.memory
        what = (f"would have swapped from {_clock(at)} (memorySwap "
                f"{'unlimited' if limits.memory_swap is None else _mib(limits.memory_swap)})"
                if room and (limits.memory_swap is None or peak_mem <= limits.memory_swap)
                else f"would have been OOM-killed at {_clock(at)}")
        out.append(Verdict("memory", f"memory peak {_mib(peak_mem)} > {_mib(limits.memory)}: {what}", True))
    peak_cpu = max(v for _, v in cpu)
    if limits.cpus is None:
        out.append(Verdict("cpus", f"cpu peak {peak_cpu:.0f} %, no limit", False))
    elif peak_cpu <= limits.cpus * 100:
        out.append(Verdict("cpus", f"cpu peak {peak_cpu:.0f} % ≤ {limits.cpus:g} cpus: fits", False))
    else:
        at = _first(cpu, limits.cpus * 100) or 0.0
        out.append(Verdict("cpus", f"cpu peak {peak_cpu:.0f} % > {limits.cpus:g} cpus "
                           f"({limits.cpus * 100:.0f} %): would have been throttled from {_clock(at)}", True))
    peak_pids = int(max(v for _, v in pids))
    if limits.pids is None:
        out.append(Verdict("pids", f"pids peak {peak_pids}, no limit", False))
    elif peak_pids < limits.pids:
        out.append(Verdict("pids", f"pids peak {peak_pids} < {limits.pids}: fits", False))
    else:
        at = _first(pids, limits.pids - 1) or 0.0
        out.append(Verdict("pids", f"pids peak {peak_pids} ≥ pidsLimit {limits.pids}: new processes would have "
                           f"failed to start from {_clock(at)}", True))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ContainerCheck:
    """A container's peaks against the current and the candidate limits."""

    name: str
    samples: int
    current: tuple[Verdict, ...]
    candidate: tuple[Verdict, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "samples": self.samples, "current": [v.to_json() for v in self.current],
                "candidate": [v.to_json() for v in self.candidate]}


@dataclass(frozen=True, slots=True)
class SandboxPreview:
    """Every container with recent stats, checked against both sets of limits."""

    current: Limits
    candidate: Limits
    containers: tuple[ContainerCheck, ...]
    recent_s: float

    def lines(self) -> list[str]:
        out = [f"Sandbox limits — peaks of the last {self.recent_s / 60:g} min of stored sandbox.stats"]
        if not self.containers:
            out.append("  no container stats recorded in that time (containers run only with sandbox.mode on)")
        for c in self.containers:
            out.append(f"  {c.name} ({c.samples} samples)")
            out += table([[f"    {label if i == 0 else ''}", v.text]
                          for label, verdicts in (("current", c.current), ("candidate", c.candidate))
                          for i, v in enumerate(verdicts)])
        return out

    def to_json(self) -> dict[str, Any]:
        return {"current": self.current.to_json(), "candidate": self.candidate.to_json(),
                "containers": [c.to_json() for c in self.containers], "recentSeconds": self.recent_s}


def preview_sandbox(current: ClawtopConfig, candidate: ClawtopConfig, stats: Sequence[StoredEvent],
                    now_wall: float) -> SandboxPreview:
    """Group ``stats`` (any order) by container, keep the recent, non-stale samples. Pure."""
    by_name: dict[str, list[StoredEvent]] = {}
    for event in sorted(stats, key=lambda e: e.id):
        if (event.kind == SandboxStats.kind and event.wall >= now_wall - RECENT_S
                and not event.payload.get("stale")):
            by_name.setdefault(str(event.payload.get("name")), []).append(event)
    cur, cand = limits_of(current), limits_of(candidate)
    checks = tuple(ContainerCheck(name, len(rows), _verdicts(rows, cur), _verdicts(rows, cand))
                   for name, rows in sorted(by_name.items()))
    return SandboxPreview(cur, cand, checks, RECENT_S)
